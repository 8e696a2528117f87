// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 2 };
export default function () {
  const b = __ENV.BASE_URL;
  check(http.get(`${b}/redirect/3`), { 'followed': (r) => r.status === 200 && r.url.endsWith('/get') });
  check(http.get(`${b}/redirect/2`, { redirects: 0 }), { 'not followed': (r) => r.status === 302 });
  check(http.get(`${b}/relative-redirect/1`), { 'relative': (r) => r.status === 200 });
}
