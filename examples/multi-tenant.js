// Tenant isolation (seed 001 Phase 7.1 multi-tenant-load.js): free,
// starter and professional tenants use the shop at the same time, each as
// its own scenario with `env: { TIER }` and `tags: { tier }`. Per-tier
// thresholds check that every tier keeps its latency target and stays under
// its plan's error threshold (seed 001's tierLimits: free 5%, starter 2%,
// professional 1%), so one tenant's load — or rate limiting — does not
// spill over onto another.
//
//   stampede run examples/multi-tenant.js                              # 3/10/25 VUs, ~15 s
//   stampede run -e SCALE=1 -e TIME_SCALE=1 examples/multi-tenant.js   # seed 001: 50/200/500 VUs, 20 min
//
// SCALE       VU multiplier of the seed's 50 / 200 / 500 VUs (default 0.05)
// TIME_SCALE  duration multiplier of the seed's 10m / 20m (default 0.0125)
// SLEEP_MIN, SLEEP_MAX  think time in seconds (default 1 and 5)
// LATENCY_FACTOR        multiplies the latency thresholds (default 1)
//
// At full size the free tier's 50 users make about 17 requests/s against
// its plan's 20/s, so a few are rate limited (429): that is the free plan
// working, and stays well under its 5% error threshold.

import { Rate } from 'k6/metrics';
import { envNumber, ms, scaleDuration, scaleStages, scaleVUs } from './lib/config.js';
import { loginAllTiers, userJourney } from './lib/shop.js';
import { tierLimits } from './lib/tiers.js';

const SCALE = envNumber('SCALE', 0.05);
const TIME_SCALE = envNumber('TIME_SCALE', 0.0125);

const rateLimited = new Rate('rate_limited');

const TESTED_TIERS = ['free', 'starter', 'professional'];

function perTierThresholds() {
  const t = {};
  for (const tier of TESTED_TIERS) {
    t[`http_req_duration{tier:${tier}}`] = [`p(95)<${ms(500)}`];
    t[`http_req_failed{tier:${tier}}`] = [`rate<${tierLimits[tier].error_threshold}`];
    t[`rate_limited{tier:${tier}}`] = [`rate<${tierLimits[tier].error_threshold}`];
  }
  return t;
}

// Seed 001's options, VUs and durations scaled.
export const options = {
  scenarios: {
    free_tier: {
      executor: 'constant-vus',
      vus: scaleVUs(50, SCALE),
      duration: scaleDuration('10m', TIME_SCALE),
      env: { TIER: 'free' },
      tags: { tier: 'free' },
    },
    starter_tier: {
      executor: 'constant-vus',
      vus: scaleVUs(200, SCALE),
      duration: scaleDuration('10m', TIME_SCALE),
      env: { TIER: 'starter' },
      tags: { tier: 'starter' },
    },
    professional_tier: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: scaleStages(
        [
          { duration: '5m', target: 500 },
          { duration: '10m', target: 500 },
          { duration: '5m', target: 0 },
        ],
        { vus: SCALE, time: TIME_SCALE },
      ),
      env: { TIER: 'professional' },
      tags: { tier: 'professional' },
    },
  },
  thresholds: Object.assign(perTierThresholds(), { checks: ['rate>0.99'] }),
};

export function setup() {
  return { tokens: loginAllTiers(TESTED_TIERS) };
}

export default function (data) {
  const tier = __ENV.TIER || 'free';
  const res = userJourney(data.tokens[tier]);
  rateLimited.add(res.status === 429);
}
