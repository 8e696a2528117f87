// k6: check, group, sleep, fail, randomSeed.
import n from 'stampede:native/k6';

export function check(value, sets, tags) {
  if (sets === null || typeof sets !== 'object') {
    throw new TypeError('check() requires an object of checks as its second argument');
  }
  let ok = true;
  // An indexed loop: for-of would allocate an iterator and a result object
  // per step on every iteration of every VU.
  const names = Object.keys(sets);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const c = sets[name];
    let passed;
    if (typeof c === 'function') {
      // As in k6, a check that throws counts as failed; the exception goes on.
      try {
        passed = !!c(value);
      } catch (e) {
        n.recordCheck(name, false, tags);
        throw e;
      }
    } else {
      passed = !!c;
    }
    n.recordCheck(name, passed, tags);
    if (!passed) ok = false;
  }
  return ok;
}

export function group(name, fn) {
  if (typeof fn !== 'function') {
    throw new TypeError('group() requires a callback as a second argument');
  }
  n.enterGroup(String(name));
  try {
    return fn();
  } finally {
    n.exitGroup();
  }
}

export const sleep = n.sleep;

export function fail(message) {
  const e = new Error(message === undefined ? '' : String(message));
  e.name = 'GoError';
  throw e;
}

export function randomSeed(seed) {
  // mulberry32: a small, fast, well-distributed 32-bit generator.
  let a = Number(seed) >>> 0;
  Math.random = function random() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export default { check, group, sleep, fail, randomSeed };
