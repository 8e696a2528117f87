// compare: counts
import { check } from 'k6';
import { add } from './lib/math.js';
const legacy = require('./lib/legacy.js');
export const options = { iterations: 2 };
export default function () {
  check(null, { 'esm import': () => add(2, 3) === 5, 'cjs require': () => legacy.greet('k6') === 'hello k6' });
}
