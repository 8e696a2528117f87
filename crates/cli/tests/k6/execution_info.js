// compare: counts
import exec from 'k6/execution';
import { check } from 'k6';
export const options = { scenarios: { only: { executor: 'per-vu-iterations', vus: 2, iterations: 2 } } };
export default function () {
  check(null, {
    'scenario name': () => exec.scenario.name === 'only',
    'executor': () => exec.scenario.executor === 'per-vu-iterations',
    'vu id': () => exec.vu.idInTest >= 1 && exec.vu.idInTest <= 2,
    'iteration in scenario': () => exec.vu.iterationInScenario === __ITER,
    'options visible': () => exec.test.options.scenarios.only.vus === 2,
  });
}
