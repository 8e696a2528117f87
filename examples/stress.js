// Stress test (seed 001 Phase 3.1 "Gradual Load Increase", seed 000 "Stress
// Test: gradual increase"): the load test's user mix at 100, 200, 300 and
// 400 VUs, each step ramped in 2m and held 5m, then 10m of ramp-down, with
// seed 001's stress thresholds (p95 < 1 s, error rate < 10%).
//
//   stampede run examples/stress.js                     # 5..20 VUs, ~15 s
//   stampede run -e SCALE=1 -e STAGE_DURATION=5m examples/stress.js  # seed 001: 100..400 VUs, 38 min
//
// SCALE               VU multiplier of the seed's 100/200/300/400 (default 0.05)
// STAGE_DURATION      how long each step is held (default 2s; seed 5m)
// RAMP_DURATION       ramp to each step (default 0.4 x STAGE_DURATION; seed 2m)
// RAMP_DOWN_DURATION  final ramp to 0 (default 2 x STAGE_DURATION; seed 10m)
// TIER                tenant the users log in as (default professional)
// SLEEP_MIN, SLEEP_MAX  think time in seconds (default 1 and 5)
// LATENCY_FACTOR      multiplies the latency thresholds (default 1)
//
// Every request is tagged with its stage (stage=0..8, k6-utils'
// tagWithCurrentStageIndex), so `--out json` shows the step where latency
// or errors start to grow.

import { tagWithCurrentStageIndex } from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';
import { envDuration, envNumber, envString, formatDuration, ms, parseDuration, scaleVUs } from './lib/config.js';
import { loginUser, userJourney } from './lib/shop.js';
import { TIER_EMAILS, checkTier } from './lib/tiers.js';

// Seed 001's k6/tests/stress-test.js options, as written there.
const seedOptions = {
  stages: [
    { duration: '2m', target: 100 },
    { duration: '5m', target: 100 },
    { duration: '2m', target: 200 },
    { duration: '5m', target: 200 },
    { duration: '2m', target: 300 },
    { duration: '5m', target: 300 },
    { duration: '2m', target: 400 },
    { duration: '5m', target: 400 },
    { duration: '10m', target: 0 },
  ],
  thresholds: {
    http_req_duration: ['p(95)<1000'],
    http_req_failed: ['rate<0.1'],
  },
};

const SCALE = envNumber('SCALE', 0.05);
const HOLD = envDuration('STAGE_DURATION', '2s');
const RAMP = envDuration('RAMP_DURATION', formatDuration(parseDuration(HOLD) * 0.4));
const RAMP_DOWN = envDuration('RAMP_DOWN_DURATION', formatDuration(parseDuration(HOLD) * 2));
const TIER = checkTier(envString('TIER', 'professional'));

// The seed's durations mean: 2m a ramp, 5m a hold, 10m the final ramp-down.
const DURATIONS = { '2m': RAMP, '5m': HOLD, '10m': RAMP_DOWN };

export const options = {
  stages: seedOptions.stages.map((st) => ({
    duration: DURATIONS[st.duration],
    target: scaleVUs(st.target, SCALE),
  })),
  thresholds: {
    http_req_duration: [`p(95)<${ms(1000)}`],
    http_req_failed: seedOptions.thresholds.http_req_failed,
    checks: ['rate>0.99'],
  },
};

export function setup() {
  return { token: loginUser(TIER_EMAILS[TIER]) };
}

export default function (data) {
  tagWithCurrentStageIndex();
  userJourney(data.token);
}
