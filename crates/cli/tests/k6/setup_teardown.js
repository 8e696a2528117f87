// compare: counts
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 3 };
export function setup() {
  const r = http.get(`${__ENV.BASE_URL}/uuid`);
  return { id: r.json('uuid'), list: [1, 2, 3] };
}
export default function (data) {
  check(data, { 'has setup data': (d) => d.id.length === 36 && d.list.length === 3 });
}
export function teardown(data) {
  check(data, { 'teardown gets data': (d) => d.list[2] === 3 });
}
