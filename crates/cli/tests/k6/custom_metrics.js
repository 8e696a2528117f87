// compare: counts
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
const c = new Counter('my_counter');
const g = new Gauge('my_gauge');
const r = new Rate('my_rate');
const t = new Trend('my_trend', true);
export const options = {
  iterations: 6,
  thresholds: { my_counter: ['count==12'], my_rate: ['rate>0.4'], my_trend: ['p(95)<100', 'avg>1'], my_gauge: ['value>=0'] },
};
export default function () {
  c.add(2, { kind: 'x' });
  g.add(__ITER);
  r.add(__ITER % 2 === 0);
  t.add(10 + __ITER);
}
