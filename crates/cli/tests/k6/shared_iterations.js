// compare: counts
import http from 'k6/http';
export const options = { scenarios: { s: { executor: 'shared-iterations', vus: 4, iterations: 20, maxDuration: '30s' } } };
export default function () { http.get(`${__ENV.BASE_URL}/get`); }
