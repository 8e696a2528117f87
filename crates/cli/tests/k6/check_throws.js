// compare: counts
// A check that throws counts as failed and the exception reaches the caller.
import { check } from 'k6';
export const options = { iterations: 2 };
export default function () {
  try {
    check(1, { 'ok': () => true, 'throws': () => { throw new Error('boom'); }, 'after': () => true });
  } catch (e) { console.log('caught ' + e); }
}
