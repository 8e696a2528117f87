// compare: counts
import http from 'k6/http';
export const options = {
  scenarios: { ramp: { executor: 'ramping-arrival-rate', startRate: 5, timeUnit: '1s', preAllocatedVUs: 4, stages: [{ target: 20, duration: '1s' }, { target: 20, duration: '1s' }] } },
};
export default function () { http.get(`${__ENV.BASE_URL}/get`); }
