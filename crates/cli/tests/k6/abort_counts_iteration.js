// compare: counts
// The iteration that calls exec.test.abort() counts in `iterations` (and
// has an iteration_duration), as in k6; exit code 108.
import exec from 'k6/execution';
import { check } from 'k6';

export const options = { iterations: 1 };

export default function () {
  check(null, { 'before the abort': () => true });
  exec.test.abort('enough');
}
