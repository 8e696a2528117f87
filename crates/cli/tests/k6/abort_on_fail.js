import http from 'k6/http';
export const options = {
  vus: 2,
  duration: '20s',
  thresholds: { http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true }] },
};
export default function () {
  http.get(`${__ENV.BASE_URL}/status/500`);
}
