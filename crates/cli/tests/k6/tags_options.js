// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = {
  iterations: 2,
  tags: { env: 'test' },
  thresholds: { 'http_reqs{env:test}': ['count==4'], 'http_reqs{custom:yes}': ['count==2'], 'checks{env:test}': ['rate==1'] },
};
export default function () {
  http.get(`${__ENV.BASE_URL}/get`, { tags: { custom: 'yes' } });
  http.get(http.url`${__ENV.BASE_URL}/anything/${__ITER}`);
  check(1, { 'tagged': () => true });
}
