// compare: counts
import exec from 'k6/execution';
import { check } from 'k6';
export const options = { iterations: 2, thresholds: { checks: ['rate==1'] } };
export default function () { check(false, { x: (v) => v === true }); if (__ITER === 1) exec.test.fail('verification failed: x'); console.log('after fail'); }
