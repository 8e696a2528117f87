// compare: counts
// Numbers too large for a Go duration (Infinity, 1e300, NaN) convert as k6
// converts them, to an already-expired duration, never a panic: the
// request times out at once, the sleep does not wait, the timer fires.
import http from 'k6/http';
import { check, sleep } from 'k6';
export const options = { iterations: 1 };
export default function () {
  for (const t of [Infinity, 1e300, NaN, -Infinity, -5]) {
    const r = http.get(`${__ENV.BASE_URL}/delay/3`, { timeout: t });
    check(r, { 'timed out at once': (x) => x.status === 0 && x.error_code === 1050 });
  }
  sleep(Infinity);
  sleep(1e300);
  sleep(NaN);
  setTimeout(() => check(1, { 'a 1e300 ms timer fires': (x) => x === 1 }), 1e300);
  setTimeout(() => check(1, { 'an Infinity ms timer fires': (x) => x === 1 }), Infinity);
}
