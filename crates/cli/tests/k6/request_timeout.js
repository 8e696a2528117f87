// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 2 };
export default function () {
  const r = http.get(`${__ENV.BASE_URL}/delay/3`, { timeout: '300ms' });
  check(r, { 'timed out': (x) => x.status === 0 && x.error_code === 1050 });
}
