import { sleep } from 'k6';
export const options = {
  scenarios: { slow: { executor: 'constant-arrival-rate', rate: 20, duration: '2s', preAllocatedVUs: 1, maxVUs: 1 } },
  thresholds: { dropped_iterations: ['count>10'] },
};
export default function () { sleep(0.5); }
