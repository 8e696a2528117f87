// compare: counts
// An invalid `timeout` parameter: k6 sends nothing (no http_reqs), warns
// "Request Failed" and returns a response with status 0, error_code 0 and
// the parse error; a batch with one sends nothing at all. The iteration
// goes on: the checks after each call count.
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 2, thresholds: { checks: ['rate==1'] } };
const refused = (r, why) => r.status === 0 && r.error_code === 0 && r.error === `invalid timeout value: ${why}`;
export default function () {
  const b = __ENV.BASE_URL;
  check(http.get(`${b}/get`, { timeout: 'abc' }), {
    'string': (r) => refused(r, 'time: invalid duration "abc"'),
  });
  check(http.get(`${b}/get`, { timeout: '1x' }), {
    'unit': (r) => refused(r, 'time: unknown unit "x" in duration "1x"'),
  });
  check(http.get(`${b}/get`, { timeout: true }), {
    'bool': (r) => refused(r, 'unable to use type bool as a duration value'),
  });
  check(http.get(`${b}/get`, { timeout: undefined }), {
    'undefined': (r) => refused(r, 'unable to use type <nil> as a duration value'),
  });
  check(http.get(`${b}/get`, { timeout: {} }), {
    'object': (r) => refused(r, 'unable to use type map[string]interface {} as a duration value'),
  });
  const rs = http.batch([`${b}/get`, ['GET', `${b}/get`, null, { timeout: 'abc' }], `${b}/get`]);
  check(rs, {
    'batch': (r) => r.length === 3 && r[0].status === 0 && r[0].error === '' &&
      refused(r[1], 'time: invalid duration "abc"') && r[2] === null,
  });
  check(http.get(`${b}/get`, { timeout: '10s' }), { 'valid': (r) => r.status === 200 });
}
