// compare: counts
import { check } from 'k6';
export const options = { iterations: 4 };
export default function () {
  check(1, { 'before': () => true });
  if (__ITER % 2 === 1) throw new Error('odd iteration');
  check(1, { 'after': () => true });
}
