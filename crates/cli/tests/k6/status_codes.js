// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 3, thresholds: { http_req_failed: ['rate<0.6'] } };
export default function () {
  const b = __ENV.BASE_URL;
  http.get(`${b}/status/200`);
  http.get(`${b}/status/404`);
  http.get(`${b}/status/500`);
  const r = http.get(`${b}/status/404`, { responseCallback: http.expectedStatuses(404) });
  check(r, { 'is 404': (x) => x.status === 404 });
}
