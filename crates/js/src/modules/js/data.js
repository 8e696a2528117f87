// k6/data: SharedArray, read-only data built once and shared by all VUs.
import n from 'stampede:native/k6/data';

const methods = ['forEach', 'map', 'filter', 'find', 'findIndex', 'indexOf', 'includes',
  'some', 'every', 'reduce', 'slice', 'join', 'concat', 'entries', 'keys', 'values'];

function deepFreeze(o) {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const k of Object.keys(o)) deepFreeze(o[k]);
  }
  return o;
}

export class SharedArray {
  constructor(name, fn) {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError('empty name provided to SharedArray\'s constructor');
    }
    if (typeof fn !== 'function') {
      throw new TypeError('a function is expected as the second argument of SharedArray\'s constructor');
    }
    let length = n.length(name);
    if (length < 0) {
      const data = fn();
      if (!Array.isArray(data)) {
        throw new TypeError('only arrays can be made into SharedArray');
      }
      length = n.store(name, data.map((x) => JSON.stringify(x === undefined ? null : x)));
    }
    const get = (i) => deepFreeze(JSON.parse(n.get(name, i)));
    const all = () => { const out = new Array(length); for (let i = 0; i < length; i++) out[i] = get(i); return out; };
    const target = {};
    return new Proxy(target, {
      get(_, key) {
        if (key === 'length') return length;
        if (key === Symbol.iterator) return function* () { for (let i = 0; i < length; i++) yield get(i); };
        if (typeof key === 'string') {
          const i = Number(key);
          if (Number.isInteger(i) && String(i) === key) return i >= 0 && i < length ? get(i) : undefined;
          if (methods.includes(key)) return (...args) => all()[key](...args);
        }
        return undefined;
      },
      set() { throw new TypeError('SharedArray is read-only'); },
      deleteProperty() { throw new TypeError('SharedArray is read-only'); },
      has(_, key) { const i = Number(key); return key === 'length' || (Number.isInteger(i) && i >= 0 && i < length); },
      ownKeys() { const keys = []; for (let i = 0; i < length; i++) keys.push(String(i)); return keys; },
      getOwnPropertyDescriptor(_, key) {
        const i = Number(key);
        if (Number.isInteger(i) && i >= 0 && i < length) return { value: get(i), enumerable: true, configurable: true, writable: false };
        return undefined;
      },
    });
  }
}

export default { SharedArray };
