// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 2 };
export default function () {
  const b = __ENV.BASE_URL;
  const r = http.get(`${b}/cookies/set?flavor=choco`);
  check(r, { 'jar kept it': (x) => x.json('cookies.flavor') === 'choco' });
  const jar = http.cookieJar();
  jar.set(b, 'manual', 'yes');
  check(http.get(`${b}/cookies`), { 'manual cookie sent': (x) => x.json('cookies.manual') === 'yes' });
  check(http.get(`${b}/cookies`, { cookies: { extra: 'v' } }), { 'param cookie sent': (x) => x.json('cookies.extra') === 'v' });
  check(jar.cookiesForURL(b), { 'jar lists cookies': (c) => c.flavor[0] === 'choco' });
}
