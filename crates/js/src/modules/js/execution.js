// k6/execution: information about the running test, and control over it.
import n from 'stampede:native/k6/execution';

function tagProxy(read, write) {
  return new Proxy({}, {
    get(_, key) { return typeof key === 'string' ? read()[key] : undefined; },
    set(_, key, value) { write(String(key), value); return true; },
    has(_, key) { return key in read(); },
    deleteProperty(_, key) { write(String(key), undefined); return true; },
    ownKeys() { return Object.keys(read()); },
    getOwnPropertyDescriptor(_, key) {
      const t = read();
      return key in t ? { value: t[key], enumerable: true, configurable: true, writable: true } : undefined;
    },
  });
}

const tags = tagProxy(() => n.tags(), (k, v) => n.setTag(k, v));
const metadata = tagProxy(() => n.metadata(), (k, v) => n.setMetadata(k, v));

const vu = Object.defineProperties({}, {
  idInInstance: { get: () => n.vu().idInInstance, enumerable: true },
  idInTest: { get: () => n.vu().idInTest, enumerable: true },
  iterationInInstance: { get: () => n.vu().iterationInInstance, enumerable: true },
  iterationInScenario: { get: () => n.vu().iterationInScenario, enumerable: true },
  tags: { get: () => tags, set: () => { throw new TypeError('exec.vu.tags cannot be replaced; set its properties instead'); }, enumerable: true },
  metrics: { value: Object.defineProperties({}, {
    tags: { get: () => tags, enumerable: true },
    metadata: { get: () => metadata, enumerable: true },
  }), enumerable: true },
});

const scenario = Object.defineProperties({}, {
  name: { get: () => n.scenario().name, enumerable: true },
  executor: { get: () => n.scenario().executor, enumerable: true },
  startTime: { get: () => n.scenario().startTime, enumerable: true },
  progress: { get: () => n.scenario().progress, enumerable: true },
  iterationInInstance: { get: () => n.scenario().iterationInInstance, enumerable: true },
  iterationInTest: { get: () => n.scenario().iterationInTest, enumerable: true },
});

const instance = Object.defineProperties({}, {
  currentTestRunDuration: { get: () => n.instance().currentTestRunDuration, enumerable: true },
  iterationsCompleted: { get: () => n.instance().iterationsCompleted, enumerable: true },
  iterationsInterrupted: { get: () => n.instance().iterationsInterrupted, enumerable: true },
  vusActive: { get: () => n.instance().vusActive, enumerable: true },
  vusInitialized: { get: () => n.instance().vusInitialized, enumerable: true },
});

function deepFreeze(o) {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const k of Object.keys(o)) deepFreeze(o[k]);
  }
  return o;
}
let optionsCache;

const test = Object.defineProperties({}, {
  abort: { value: (reason) => n.abort(reason === undefined ? '' : String(reason)), enumerable: true },
  fail: { value: (reason) => n.fail(reason === undefined ? '' : String(reason)), enumerable: true },
  options: {
    get: () => optionsCache || (optionsCache = deepFreeze(JSON.parse(n.options()))),
    enumerable: true,
  },
});

export { vu, scenario, instance, test };
export default { vu, scenario, instance, test };
