// Breaking-point test (seed 001 Phase 3.2, seed 000 "Stress: 100-10K VUs,
// breaking pt"): keep adding users in five steps (1000 to 5000 VUs in the
// seed) until the service breaks. The only threshold is the seed's: the run
// fails when more than half of the requests fail.
//
// Two trends say where it broke: each VU records the number of active VUs
// at its first failed request in `vus_at_first_error`, and at its first
// response slower than SLOW_MS in `vus_at_first_slow_response`; their `min`
// is about the load at which trouble began (no samples: it never broke).
//
//   stampede run examples/breaking-point.js                 # 10..50 VUs, 10 s
//   stampede run -e SCALE=1 -e STAGE_DURATION=5m examples/breaking-point.js  # seed 001: 1000..5000 VUs, 25 min
//
// SCALE           VU multiplier of the seed's 1000..5000 (default 0.01)
// STAGE_DURATION  length of each step (default 2s; seed 5m)
// TIER            tenant the users log in as (default enterprise: 10 000 requests/s)
// SLEEP_MIN, SLEEP_MAX  think time in seconds (default 0.1 and 0.5: more pressure than the load test)
// SLOW_MS         what counts as a slow response (default 1000)

import exec from 'k6/execution';
import { Trend } from 'k6/metrics';
import { tagWithCurrentStageIndex } from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';
import { envDuration, envNumber, envString, scaleVUs } from './lib/config.js';
import { loginUser, userJourney } from './lib/shop.js';
import { TIER_EMAILS, checkTier } from './lib/tiers.js';

const SCALE = envNumber('SCALE', 0.01);
const STAGE = envDuration('STAGE_DURATION', '2s');
const TIER = checkTier(envString('TIER', 'enterprise'));
const SLEEP_MIN = envNumber('SLEEP_MIN', 0.1);
const SLEEP_MAX = envNumber('SLEEP_MAX', 0.5);
const SLOW_MS = envNumber('SLOW_MS', 1000);

const vusAtFirstError = new Trend('vus_at_first_error');
const vusAtFirstSlowResponse = new Trend('vus_at_first_slow_response');
let sawError = false;
let sawSlow = false;

// Seed 001's k6/tests/breaking-point.js, durations and targets scaled.
export const options = {
  stages: [
    { duration: STAGE, target: scaleVUs(1000, SCALE) },
    { duration: STAGE, target: scaleVUs(2000, SCALE) },
    { duration: STAGE, target: scaleVUs(3000, SCALE) },
    { duration: STAGE, target: scaleVUs(4000, SCALE) },
    { duration: STAGE, target: scaleVUs(5000, SCALE) },
  ],
  thresholds: {
    http_req_failed: ['rate<0.5'], // Allow up to 50% failure to find breaking point
  },
  summaryTrendStats: ['min', 'med', 'max', 'count'],
};

export function setup() {
  return { token: loginUser(TIER_EMAILS[TIER]) };
}

export default function (data) {
  tagWithCurrentStageIndex();
  const res = userJourney(data.token, { sleepMin: SLEEP_MIN, sleepMax: SLEEP_MAX });
  const vus = exec.instance.vusActive;
  if (!sawError && (res.error_code || res.status >= 500 || res.status === 429)) {
    sawError = true;
    vusAtFirstError.add(vus);
  }
  if (!sawSlow && res.timings.duration > SLOW_MS) {
    sawSlow = true;
    vusAtFirstSlowResponse.add(vus);
  }
}
