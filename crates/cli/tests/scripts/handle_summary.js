// compare: counts
import { check } from 'k6';
import { textSummary } from 'https://jslib.k6.io/k6-summary/0.0.2/index.js';
export const options = { iterations: 2 };
export default function () { check(1, { 'one': (v) => v === 1 }); }
export function handleSummary(data) {
  return { stdout: textSummary(data, { indent: ' ', enableColors: false }) + '\nchecks=' + data.metrics.checks.values.passes + '\n' };
}
