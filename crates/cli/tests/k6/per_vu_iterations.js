// compare: counts
import { Counter } from 'k6/metrics';
import exec from 'k6/execution';
const c = new Counter('per_vu');
export const options = { scenarios: { p: { executor: 'per-vu-iterations', vus: 3, iterations: 4 } } };
export default function () { c.add(1, { vu: String(exec.vu.idInTest) }); }
