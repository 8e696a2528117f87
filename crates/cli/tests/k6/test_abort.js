import exec from 'k6/execution';
export const options = { vus: 1, duration: '20s' };
export default function () {
  if (__ITER === 2) exec.test.abort('enough');
}
