// compare: counts
import http from 'k6/http';
export const options = {
  scenarios: { rate: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '2s', preAllocatedVUs: 5, maxVUs: 10 } },
  thresholds: { dropped_iterations: ['count==0'] },
};
export default function () { http.get(`${__ENV.BASE_URL}/get`); }
