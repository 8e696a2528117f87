import http from 'k6/http';
import { sleep } from 'k6';
export const options = {
  stages: [{ duration: '1s', target: 4 }, { duration: '1s', target: 4 }, { duration: '500ms', target: 0 }],
  thresholds: { vus_max: ['value==4'], http_reqs: ['count>4'] },
};
export default function () { http.get(`${__ENV.BASE_URL}/get`); sleep(0.1); }
