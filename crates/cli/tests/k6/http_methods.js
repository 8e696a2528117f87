// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 2 };
export default function () {
  const b = __ENV.BASE_URL;
  const json = JSON.stringify({ a: 1 });
  const headers = { 'Content-Type': 'application/json' };
  check(http.post(`${b}/post`, json, { headers }), { 'post json': (r) => r.json('json.a') === 1 });
  check(http.post(`${b}/post`, { name: 'k6 user', n: 2 }), { 'post form': (r) => r.json('form.name') === 'k6 user' });
  check(http.put(`${b}/put`, 'raw'), { 'put': (r) => r.json('data') === 'raw' });
  check(http.patch(`${b}/patch`, json, { headers }), { 'patch': (r) => r.status === 200 });
  check(http.del(`${b}/delete`), { 'delete': (r) => r.status === 200 });
  check(http.head(`${b}/get`), { 'head has no body': (r) => r.status === 200 && !r.body });
  check(http.options(`${b}/anything`), { 'options': (r) => r.status === 200 });
  check(http.request('GET', `${b}/anything/x`, null, { tags: { name: 'anything' } }), { 'request': (r) => r.json('method') === 'GET' });
}
