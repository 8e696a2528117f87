// Spike test, two shapes one after the other:
//
// * `shop_spike` — seed 001 Phase 4.1 "Sudden Traffic Spike" (seed 000
//   "Spike Test: 100 -> 1000 VUs, recovery test"): 100 users, a jump to
//   2000 in 10 s held 3 minutes, back to 100 for 3 minutes. Requests are
//   tagged phase=normal|spike|recovery; the thresholds ask that the spike
//   stays under 10% errors and that once it is over the shop is back to its
//   targets (p95 < 500 ms, error rate < 0.1%).
// * `flash_spike` — seed 003 "Scenario 2: Spike Test" (10 -> 500 VUs in 1 s
//   on the flash sale's POST /order: "Tests: Rate limiter, recovery from
//   overload"): every answer must be 200, 302 (waiting room) or 409, with
//   seed 003's local latency target p95 < 20 ms.
//
//   stampede run examples/spike.js                    # both, ~20 s
//   stampede run -e SHAPE=shop -e SCALE=1 -e TIME_SCALE=1 examples/spike.js   # seed 001: 2000 VUs, 7m40s
//   stampede run -e SHAPE=flash -e FLASH_SCALE=1 -e FLASH_TIME_SCALE=1 examples/spike.js  # seed 003: 500 VUs, 22 s
//
// SHAPE             shop, flash or both (default both)
// SCALE             VU multiplier of seed 001's 100/2000 (default 0.01)
// TIME_SCALE        duration multiplier of seed 001's 7m40s (default 0.025)
// FLASH_SCALE       VU multiplier of seed 003's 10/500 (default 0.04)
// FLASH_TIME_SCALE  duration multiplier of seed 003's 22 s (default 0.3)
// SPIKE_STOCK       units of the spike's flash sale (default 1000000: it never sells out)
// TIER              shop tenant (default enterprise)
// SLEEP_MIN, SLEEP_MAX  shop think time in seconds (default 0.5 and 1.5)
// LATENCY_FACTOR    multiplies the latency thresholds (default 1)

import http from 'k6/http';
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { uuidv4 } from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';
import {
  BASE_URL, JSON_HEADERS, envInt, envNumber, envString, ms, parseDuration, scaleStages, stagesDuration,
  formatDuration,
} from './lib/config.js';
import { loginUser, userJourney } from './lib/shop.js';
import { TIER_EMAILS, checkTier } from './lib/tiers.js';

// Seed 001's k6/tests/spike-test.js stages, as written there.
const shopSpikeStages = [
  { duration: '10s', target: 100 }, // Normal load
  { duration: '1m', target: 100 },
  { duration: '10s', target: 2000 }, // Spike to 20x
  { duration: '3m', target: 2000 }, // Stay at spike
  { duration: '10s', target: 100 }, // Back to normal
  { duration: '3m', target: 100 },
  { duration: '10s', target: 0 },
];
// Which phase each of those stages is.
const PHASES = ['normal', 'normal', 'spike', 'spike', 'recovery', 'recovery', 'recovery'];

// Seed 003's spike scenario stages, as written there.
const flashSpikeStages = [
  { duration: '10s', target: 10 },
  { duration: '1s', target: 500 }, // Sudden spike
  { duration: '10s', target: 500 },
  { duration: '1s', target: 10 },
];

const SHAPE = envString('SHAPE', 'both');
if (!['shop', 'flash', 'both'].includes(SHAPE)) throw new Error(`SHAPE=${SHAPE}: use shop, flash or both`);
const TIER = checkTier(envString('TIER', 'enterprise'));
const SLEEP_MIN = envNumber('SLEEP_MIN', 0.5);
const SLEEP_MAX = envNumber('SLEEP_MAX', 1.5);
const SPIKE_STOCK = envInt('SPIKE_STOCK', 1000000);
const SPIKE_PRODUCT = 'spike-sale-product';

const shopStages = scaleStages(shopSpikeStages, {
  vus: envNumber('SCALE', 0.01),
  time: envNumber('TIME_SCALE', 0.025),
});
const flashStages = scaleStages(flashSpikeStages, {
  vus: envNumber('FLASH_SCALE', 0.04),
  time: envNumber('FLASH_TIME_SCALE', 0.3),
});

const scenarios = {};
const thresholds = {};
if (SHAPE !== 'flash') {
  scenarios.shop_spike = {
    executor: 'ramping-vus',
    startVUs: 0,
    stages: shopStages,
    gracefulRampDown: '5s',
    exec: 'shopSpike',
  };
  Object.assign(thresholds, {
    'http_req_failed{phase:normal}': ['rate<0.001'],
    'http_req_duration{phase:normal}': [`p(95)<${ms(500)}`],
    'http_req_failed{phase:spike}': ['rate<0.1'], // baseConfig: error rate under 10%
    'http_req_failed{phase:recovery}': ['rate<0.001'], // recovered: back to < 0.1%
    'http_req_duration{phase:recovery}': [`p(95)<${ms(500)}`],
  });
}
if (SHAPE !== 'shop') {
  scenarios.flash_spike = {
    executor: 'ramping-vus',
    startVUs: 0,
    stages: flashStages,
    gracefulRampDown: '0s',
    // After the shop spike when both run.
    startTime: SHAPE === 'both' ? formatDuration(stagesDuration(shopStages) + 1000) : '0s',
    exec: 'flashSpike',
  };
  Object.assign(thresholds, {
    'checks{scenario:flash_spike}': ['rate==1'],
    'http_req_duration{scenario:flash_spike}': [`p(95)<${ms(20)}`], // seed 003, local
  });
}

export const options = { scenarios, thresholds };

export function setup() {
  const data = {};
  if (SHAPE !== 'flash') data.token = loginUser(TIER_EMAILS[TIER]);
  if (SHAPE !== 'shop') {
    const res = http.post(`${BASE_URL}/init`, JSON.stringify({ productId: SPIKE_PRODUCT, quantity: SPIKE_STOCK }), {
      headers: JSON_HEADERS,
    });
    if (res.status !== 200) throw new Error(`POST /init answered ${res.status}: ${res.body}`);
  }
  return data;
}

// The phase of the shop spike now, from the time since the scenario began.
function shopPhase() {
  const elapsed = Date.now() - exec.scenario.startTime;
  let end = 0;
  for (let i = 0; i < shopStages.length; i++) {
    end += parseDuration(shopStages[i].duration);
    if (elapsed < end) return PHASES[i];
  }
  return 'recovery';
}

export function shopSpike(data) {
  exec.vu.metrics.tags.phase = shopPhase();
  userJourney(data.token, { sleepMin: SLEEP_MIN, sleepMax: SLEEP_MAX });
}

export function flashSpike() {
  // A VU may have run the shop spike before: its phase tag would stick.
  exec.vu.metrics.tags.phase = 'flash';
  const res = http.post(
    `${BASE_URL}/order`,
    JSON.stringify({ productId: SPIKE_PRODUCT, userId: uuidv4() }),
    { redirects: 0, headers: Object.assign({ 'x-idempotency-key': uuidv4() }, JSON_HEADERS) },
  );
  check(res, { 'valid response': (r) => [200, 302, 409].includes(r.status) });
  // A real client in the waiting room waits before it retries.
  if (res.status === 302) sleep(Number(res.headers['Retry-After'] || 1));
}
