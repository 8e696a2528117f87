// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 2 };
export default function () {
  const b = __ENV.BASE_URL;
  const arr = http.batch([`${b}/get`, ['POST', `${b}/post`, 'x'], { method: 'GET', url: `${b}/status/201` }]);
  check(arr, { 'array batch': (r) => r.length === 3 && r[2].status === 201 });
  const obj = http.batch({ a: `${b}/get?a`, b: ['GET', `${b}/get?b`, null, { tags: { name: 'b' } }] });
  check(obj, { 'object batch': (r) => r.a.status === 200 && r.b.status === 200 });
}
