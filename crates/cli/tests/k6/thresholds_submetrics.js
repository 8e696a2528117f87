// compare: counts
import http from 'k6/http';
import { check, group } from 'k6';
export const options = {
  iterations: 4,
  thresholds: {
    'http_req_duration{name:fast}': ['p(90)<60000'],
    'http_reqs{status:404}': ['count==4'],
    'checks{check:always}': ['rate==1'],
    'checks{check:half}': ['rate<0.6'],
    'group_duration{group:::a}': ['max<60000'],
    'http_reqs{scenario:default,method:GET}': ['count>=8'],
  },
};
export default function () {
  http.get(`${__ENV.BASE_URL}/get`, { tags: { name: 'fast' } });
  http.get(`${__ENV.BASE_URL}/status/404`);
  check(null, { 'always': () => true, 'half': () => __ITER % 2 === 0 });
  group('a', () => {});
}
