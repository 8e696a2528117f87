// Goals 1 and 6: one GET and one check per iteration, as fast as the VU can.
// Run with: run --vus N --duration D -e TARGET=http://127.0.0.1:PORT/ get_check.js
import http from 'k6/http';
import { check } from 'k6';

export const options = {
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
};

const TARGET = __ENV.TARGET;

export default function () {
  const res = http.get(TARGET);
  check(res, { 'status is 200': (r) => r.status === 200 });
}
