import http from 'k6/http';
import { sleep } from 'k6';
import exec from 'k6/execution';
import chaos from 'stampede/chaos';
export const options = {
  scenarios: chaos.phases({ baseline: '2s', inject: '2s', recover: '4s', vus: 2, exec: 'traffic', k: 2, slo: { error_rate: 0.01 } }),
};
export function traffic() {
  const path = exec.scenario.name === 'inject' ? '/api/orders/none' : '/health';
  http.get(`${__ENV.BASE_URL}${path}`);
  sleep(0.05);
}
export function injectFault() {}
export function restoreFault() {}
