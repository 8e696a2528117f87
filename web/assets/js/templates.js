// k6 script templates for the test types of the users' seed document:
// smoke, load, stress, spike, soak and breaking point. Each reads its
// target from `__ENV.BASE_URL` (set it in "Start with overrides"), checks
// the status, and carries thresholds suited to its type.

function script(comment, options) {
  return `// ${comment}
import http from 'k6/http';
import { check, sleep } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://localhost:3000';

export const options = ${options};

export default function () {
  const res = http.get(\`\${BASE_URL}/\`, { tags: { endpoint: 'home' } });
  check(res, { 'status is 200': (r) => r.status === 200 });
  sleep(1);
}
`;
}

/** name → [label, script]. */
export const TEMPLATES = {
  smoke: ['Smoke: 1 VU, 30 s — does it work at all?', script('Smoke test: minimal load, checks that the system works.', `{
  vus: 1,
  duration: '30s',
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<500'],
  },
}`)],
  load: ['Load: ramp to the expected traffic and hold it', script('Load test: the expected traffic, sustained.', `{
  stages: [
    { duration: '1m', target: 20 },
    { duration: '5m', target: 20 },
    { duration: '1m', target: 0 },
  ],
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<500', 'p(99)<1000'],
  },
}`)],
  stress: ['Stress: climb above normal traffic in steps', script('Stress test: above the expected traffic, in steps.', `{
  stages: [
    { duration: '2m', target: 50 },
    { duration: '3m', target: 100 },
    { duration: '3m', target: 150 },
    { duration: '2m', target: 0 },
  ],
  thresholds: {
    http_req_failed: ['rate<0.05'],
    http_req_duration: ['p(95)<1500'],
  },
}`)],
  spike: ['Spike: a sudden burst, then back down', script('Spike test: a sudden burst of traffic.', `{
  stages: [
    { duration: '10s', target: 5 },
    { duration: '10s', target: 200 },
    { duration: '1m', target: 200 },
    { duration: '10s', target: 5 },
    { duration: '30s', target: 0 },
  ],
  thresholds: {
    http_req_failed: ['rate<0.1'],
  },
}`)],
  soak: ['Soak: moderate load for hours', script('Soak test: moderate load for a long time (leaks, drift).', `{
  stages: [
    { duration: '5m', target: 30 },
    { duration: '4h', target: 30 },
    { duration: '5m', target: 0 },
  ],
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<500'],
  },
}`)],
  breaking: ['Breaking point: arrival rate rising until it fails', script('Breaking point: an ever higher arrival rate; stops when latency breaks.', `{
  scenarios: {
    breaking: {
      executor: 'ramping-arrival-rate',
      startRate: 10,
      timeUnit: '1s',
      preAllocatedVUs: 50,
      maxVUs: 1000,
      stages: [{ duration: '10m', target: 2000 }],
    },
  },
  thresholds: {
    http_req_duration: [{ threshold: 'p(95)<2000', abortOnFail: true }],
    http_req_failed: [{ threshold: 'rate<0.2', abortOnFail: true }],
  },
}`)],
};
