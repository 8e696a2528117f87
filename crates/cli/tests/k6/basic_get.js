// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 5 };
export default function () {
  const res = http.get(`${__ENV.BASE_URL}/get?x=1`);
  check(res, { 'status is 200': (r) => r.status === 200, 'echoes args': (r) => r.json('args.x') === '1' });
}
