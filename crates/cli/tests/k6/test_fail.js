import exec from 'k6/execution';
export const options = { iterations: 2 };
export default function () { if (__ITER === 1) exec.test.fail('marked'); }
