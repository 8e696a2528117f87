// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 2 };
export default function () {
  const u = __ENV.BASE_URL.replace('http://', 'http://user:pass@');
  check(http.get(`${u}/basic-auth/user/pass`), { 'basic ok': (r) => r.status === 200 });
  check(http.get(`${__ENV.BASE_URL}/basic-auth/user/pass`), { 'no creds': (r) => r.status === 401 });
}
