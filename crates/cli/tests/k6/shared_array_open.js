// compare: counts
import { SharedArray } from 'k6/data';
import { check } from 'k6';
const users = new SharedArray('users', () => JSON.parse(open('./data/users.json')));
export const options = { iterations: 3, vus: 3 };
export default function () {
  const u = users[__ITER % users.length];
  check(u, { 'has name': (x) => typeof x.name === 'string', 'length': () => users.length === 2 });
}
