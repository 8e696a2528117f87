// Goals 4 and 5: a constant-arrival-rate scenario of one GET per iteration.
// RATE iterations/s for DURATION with VUS pre-allocated (and no more).
import http from 'k6/http';

export const options = {
  scenarios: {
    arrival: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE),
      timeUnit: '1s',
      duration: __ENV.DURATION,
      preAllocatedVUs: Number(__ENV.VUS),
      maxVUs: Number(__ENV.VUS),
    },
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
};

const TARGET = __ENV.TARGET;

export default function () {
  http.get(TARGET);
}
