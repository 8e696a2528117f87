// Counts are not compared: whether k6 starts the iteration due exactly at the
// end of the duration depends on its timers (40 or 41 here across runs).
import http from 'k6/http';
export const options = {
  scenarios: { rate: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '2s', preAllocatedVUs: 5, maxVUs: 10 } },
  thresholds: { dropped_iterations: ['count==0'] },
};
export default function () { http.get(`${__ENV.BASE_URL}/get`); }
