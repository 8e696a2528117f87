// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 2 };
export default function () {
  const u = __ENV.BASE_URL.replace('http://', 'http://user:passwd@');
  check(http.get(`${u}/digest-auth/auth/user/passwd`, { auth: 'digest' }), { 'digest ok': (r) => r.status === 200 });
}
