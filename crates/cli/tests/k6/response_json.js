// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 1 };
export default function () {
  const r = http.post(`${__ENV.BASE_URL}/post`, JSON.stringify({ items: [{ id: 1, n: 'a' }, { id: 2, n: 'b' }], nested: { deep: true } }), { headers: { 'Content-Type': 'application/json' } });
  check(r, {
    'whole': (x) => x.json().json.nested.deep === true,
    'path': (x) => x.json('json.nested.deep') === true,
    'index': (x) => x.json('json.items.1.n') === 'b',
    'count': (x) => x.json('json.items.#') === 2,
    'map': (x) => x.json('json.items.#.id').join() === '1,2',
    'headers': (x) => x.headers['Content-Type'].startsWith('application/json'),
    'timings': (x) => x.timings.duration >= 0 && x.timings.waiting >= 0,
    'status text': (x) => x.status_text === '200 OK',
    'proto': (x) => x.proto === 'HTTP/1.1',
  });
}
