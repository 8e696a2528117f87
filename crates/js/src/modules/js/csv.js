// k6/experimental/csv: parse() into a SharedArray, and a streaming Parser.
import n from 'stampede:native/k6/experimental/csv';
import { SharedArray } from 'k6/data';

const FILE = Symbol.for('stampede.fs.file');

function fileState(file, what) {
  const s = file !== null && typeof file === 'object' ? file[FILE] : undefined;
  if (s === undefined) {
    const got = file === null || file === undefined ? String(file) : typeof file;
    throw new TypeError(`${what} expected to be a fs.File instance, got ${got} instead`);
  }
  return s;
}

// k6's options: a one-byte delimiter, fromLine < toLine.
function normalize(options) {
  const o = { delimiter: ',', skipFirstLine: false, fromLine: null, toLine: null, asObjects: false };
  if (options === undefined || options === null) return o;
  if (options.delimiter !== undefined) {
    const d = String(options.delimiter);
    if (d.length !== 1 || d.charCodeAt(0) > 0x7f) throw new Error('delimiter must be a single character');
    o.delimiter = d;
  }
  if (options.skipFirstLine !== undefined) o.skipFirstLine = Boolean(options.skipFirstLine);
  if (options.fromLine !== undefined) o.fromLine = Math.trunc(Number(options.fromLine)) || 0;
  if (options.toLine !== undefined) o.toLine = Math.trunc(Number(options.toLine)) || 0;
  if (options.asObjects !== undefined) o.asObjects = Boolean(options.asObjects);
  if (o.fromLine !== null && o.toLine !== null && o.fromLine >= o.toLine) {
    throw new Error('fromLine must be less than or equal to toLine');
  }
  return o;
}

// Parses the whole file once for all VUs: the rows live in a SharedArray
// named after the file, its position and the options.
export async function parse(file, options) {
  const s = fileState(file, 'first argument');
  let o;
  try {
    o = normalize(options);
  } catch (e) {
    throw new Error(`failed to interpret the provided Parser options; reason: ${e.message}`);
  }
  const offset = s.offset;
  s.offset = s.size;
  if (!n.inInit()) return Object.freeze(n.parse(file.path, offset, o).map(Object.freeze));
  const name = `k6/experimental/csv:${file.path}:${offset}:${JSON.stringify(o)}`;
  return arrayView(new SharedArray(name, () => n.parse(file.path, offset, o)));
}

// A read-only array over a SharedArray, so that Array.isArray() and
// JSON.stringify() see an array, as with k6's.
function arrayView(shared) {
  const length = shared.length;
  const isIndex = (k) => typeof k === 'string' && /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < length;
  const immutable = () => { throw new TypeError('SharedArray is immutable'); };
  return new Proxy([], {
    get(target, key) {
      if (key === 'length') return length;
      if (isIndex(key)) return shared[key];
      return Reflect.get(target, key);
    },
    has(target, key) { return key === 'length' || isIndex(key) || Reflect.has(target, key); },
    ownKeys() {
      const keys = [];
      for (let i = 0; i < length; i++) keys.push(String(i));
      keys.push('length');
      return keys;
    },
    getOwnPropertyDescriptor(target, key) {
      if (key === 'length') return { value: length, writable: true, enumerable: false, configurable: false };
      if (isIndex(key)) return { value: shared[key], writable: false, enumerable: true, configurable: true };
      return undefined;
    },
    set: immutable,
    defineProperty: immutable,
    deleteProperty: immutable,
    setPrototypeOf: immutable,
  });
}

export class Parser {
  constructor(file, options) {
    if (!n.inInit()) throw new Error('csv Parser constructor must be called in the init context');
    if (file === undefined || file === null) {
      throw new Error('csv Parser constructor takes at least one non-nil source argument');
    }
    const s = fileState(file, 'first argument');
    let o;
    try {
      o = normalize(options);
    } catch (e) {
      throw new Error(`encountered an error while interpreting Parser options; reason: ${e.message}`);
    }
    const handle = n.parser(file.path, s.offset, o);
    Object.defineProperty(this, 'next', {
      value: async function next() {
        const value = n.next(handle);
        return value === undefined ? { done: true, value: [] } : { done: false, value };
      },
    });
  }
}

export default { parse, Parser };
