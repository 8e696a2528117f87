// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 3, thresholds: { checks: ['rate>0.99'], http_reqs: ['count<2'], http_req_duration: ['max<60000'] } };
export default function () {
  check(http.get(`${__ENV.BASE_URL}/status/500`), { 'ok': (r) => r.status === 200 });
}
