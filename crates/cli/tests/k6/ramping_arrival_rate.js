// Counts are not compared: whether k6 starts the iteration due exactly at the
// end of the duration depends on its timers (40 or 41 here across runs).
import http from 'k6/http';
export const options = {
  scenarios: { ramp: { executor: 'ramping-arrival-rate', startRate: 5, timeUnit: '1s', preAllocatedVUs: 4, stages: [{ target: 20, duration: '1s' }, { target: 20, duration: '1s' }] } },
};
export default function () { http.get(`${__ENV.BASE_URL}/get`); }
