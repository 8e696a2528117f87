import http from 'k6/http';
import { sleep } from 'k6';
export const options = { vus: 3, duration: '2s', thresholds: { iterations: ['count>5'] } };
export default function () { http.get(`${__ENV.BASE_URL}/get`); sleep(0.2); }
