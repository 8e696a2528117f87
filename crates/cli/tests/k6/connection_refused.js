// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 2, thresholds: { http_req_failed: ['rate==1'] } };
export default function () {
  const r = http.get('http://127.0.0.1:1/');
  check(r, { 'refused': (x) => x.status === 0 && x.error_code === 1212 });
}
