// compare: counts
import http from 'k6/http';
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 300 }, 404));
export const options = { iterations: 2, thresholds: { 'http_req_failed': ['rate<0.4'] } };
export default function () {
  const b = __ENV.BASE_URL;
  http.get(`${b}/status/404`);
  http.get(`${b}/status/201`);
  http.get(`${b}/status/503`);
}
