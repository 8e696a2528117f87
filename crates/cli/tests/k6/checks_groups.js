// compare: counts
import { check, group } from 'k6';
// One VU: __ITER runs 0..3, so the even check is deterministic.
export const options = { iterations: 4, vus: 1 };
export default function () {
  check(__ITER, { 'always': () => true, 'never': () => false, 'even': (i) => i % 2 === 0 });
  group('outer', () => {
    check(1, { 'in outer': (v) => v === 1 });
    group('inner', () => { check(1, { 'in inner': (v) => v === 2 }); });
  });
}
