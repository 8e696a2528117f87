// Goals 2 and 3: GET + check, then sleep(PAUSE) seconds.
// With STAGGER=1 each VU first sleeps a random part of PAUSE, so the first
// requests of a large VU count are spread like the steady state instead of
// all opening a connection in the same millisecond.
import http from 'k6/http';
import { check, sleep } from 'k6';

export const options = {
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
};

const TARGET = __ENV.TARGET;
const PAUSE = Number(__ENV.PAUSE || '1');
const STAGGER = __ENV.STAGGER === '1';

export default function () {
  if (STAGGER && __ITER === 0) {
    sleep(Math.random() * PAUSE);
  }
  const res = http.get(TARGET);
  check(res, { 'status is 200': (r) => r.status === 200 });
  sleep(PAUSE);
}
