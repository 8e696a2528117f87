// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = {
  scenarios: {
    readers: { executor: 'shared-iterations', iterations: 4, vus: 2, exec: 'read', env: { MODE: 'r' }, tags: { team: 'a' } },
    writers: { executor: 'per-vu-iterations', iterations: 2, vus: 1, exec: 'write', startTime: '200ms', tags: { team: 'b' } },
  },
  thresholds: { 'http_reqs{team:a}': ['count==4'], 'http_reqs{scenario:writers}': ['count==2'], 'checks{team:a}': ['rate==1'] },
};
export function read() {
  check(http.get(`${__ENV.BASE_URL}/get`), { 'env set': () => __ENV.MODE === 'r' });
}
export function write() {
  check(http.post(`${__ENV.BASE_URL}/post`, 'x'), { 'no env': () => __ENV.MODE === undefined });
}
