// Rate-limit validation (seed 001 Phase 7.2 rate-limit-test.js): one VU per
// tier bursts past its tenant's limit and checks that the excess is refused
// with 429, a usable Retry-After and X-RateLimit-* headers, and that the
// number let through matches the plan.
//
// The seed's expectedLimits (free 100, starter 1000, professional 10000)
// do not match its own tierLimits (20 / 200 / 2000 requests per second);
// the demo target enforces tierLimits: a token bucket per tenant that holds
// one second's worth and refills at the plan's rate. So a burst of
// limit + 50 requests should see about 50 refusals, fewer by what refills
// while the burst runs: "rate limit accurate" checks that the requests let
// through are at least the limit and at most the limit plus the refill
// over the burst's duration.
//
//   stampede run examples/rate-limit.js                     # free, starter, professional: 2 bursts each, ~5 s
//   stampede run -e TIERS=free,enterprise -e BURSTS=5 examples/rate-limit.js
//
// TIERS     tiers to test (default free,starter,professional; professional
//           and enterprise need a generator that outpaces 2000 / 10 000
//           requests/s from one VU)
// BURSTS    bursts per tier (default 2)
// EXTRA     requests beyond the limit in a burst (default 50, as in the seed)
// MAX_EXTRA keep sending, up to this many beyond the limit, until EXTRA
//           refusals were seen (default the larger of 10 x EXTRA and the limit)

import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter, Rate } from 'k6/metrics';
import { BASE_URL, envInt, envString } from './lib/config.js';
import { loginAllTiers } from './lib/shop.js';
import { checkTier, tierLimits } from './lib/tiers.js';

const TESTED = envString('TIERS', 'free,starter,professional').split(',').map((t) => checkTier(t.trim()));
const BURSTS = envInt('BURSTS', 2);
const EXTRA = envInt('EXTRA', 50);

const rateLimited = new Counter('rate_limited');
const letThrough = new Rate('let_through');

const scenarios = {};
const thresholds = { checks: ['rate==1'], http_req_failed: ['rate<0.001'] };
for (const tier of TESTED) {
  scenarios[`${tier}_burst`] = {
    executor: 'per-vu-iterations',
    vus: 1, // one VU per tenant: they share the tenant's bucket
    iterations: BURSTS,
    maxDuration: '2m',
    env: { TIER: tier },
    tags: { tier },
  };
  thresholds[`rate_limited{tier:${tier}}`] = ['count>0'];
}

export const options = { scenarios, thresholds };

// 429 is the answer this test is after, not a failure.
const LIMITED_OK = http.expectedStatuses({ min: 200, max: 399 }, 429);

export function setup() {
  return { tokens: loginAllTiers(TESTED) };
}

export default function (data) {
  const tier = __ENV.TIER || 'free';
  const token = data.tokens[tier];
  const limit = tierLimits[tier].rps;
  const expectedLimits = { [tier]: limit };
  const maxExtra = envInt('MAX_EXTRA', Math.max(10 * EXTRA, limit));

  // Let the bucket fill up: it holds one second's worth.
  sleep(1.2);

  // Burst requests to trigger rate limit
  const responses = [];
  let refused = 0;
  const started = Date.now();
  for (let i = 0; i < expectedLimits[tier] + maxExtra && (i < expectedLimits[tier] + EXTRA || refused < EXTRA); i++) {
    const r = http.get(`${BASE_URL}/api/products?limit=1`, {
      headers: { Authorization: `Bearer ${token}` },
      responseCallback: LIMITED_OK,
      tags: { endpoint: 'products_list' },
    });
    responses.push(r);
    if (r.status === 429) refused++;
  }
  const elapsedS = (Date.now() - started) / 1000;

  const limitedResponses = responses.filter((r) => r.status === 429);
  const okResponses = responses.filter((r) => r.status === 200);
  const rateLimitedCount = limitedResponses.length;
  const refill = limit * elapsedS;
  rateLimited.add(rateLimitedCount);
  responses.forEach((r) => letThrough.add(r.status === 200));
  console.log(
    `${tier}: ${okResponses.length} let through, ${rateLimitedCount} refused in ${responses.length} requests ` +
      `over ${elapsedS.toFixed(3)} s (limit ${limit}, refill ${refill.toFixed(1)})`,
  );

  check(rateLimitedCount, {
    'rate limit enforced': (count) => count > 0,
    // Seed: count === 50. Allowed: the bucket's `limit`, plus what refilled during the burst.
    'rate limit accurate': () =>
      okResponses.length >= limit && okResponses.length <= limit + Math.ceil(refill) + 1,
    'nothing but 200 and 429': () => okResponses.length + rateLimitedCount === responses.length,
  });
  check(limitedResponses, {
    '429 has Retry-After in seconds': (rs) => rs.every((r) => Number(r.headers['Retry-After']) >= 1),
    '429 has X-RateLimit-Limit of the plan': (rs) => rs.every((r) => Number(r.headers['X-Ratelimit-Limit']) === limit),
    '429 has X-RateLimit-Remaining: 0': (rs) => rs.every((r) => r.headers['X-Ratelimit-Remaining'] === '0'),
    '429 body names the limit': (rs) => rs.every((r) => String(r.json('error')).indexOf(String(limit)) >= 0),
  });
  check(okResponses, {
    '200 has X-RateLimit-Remaining': (rs) => rs.every((r) => r.headers['X-Ratelimit-Remaining'] !== undefined),
  });

  // A well-behaved client waits as told before it tries again.
  if (limitedResponses.length > 0) {
    sleep(Number(limitedResponses[limitedResponses.length - 1].headers['Retry-After']));
    const again = http.get(`${BASE_URL}/api/products?limit=1`, {
      headers: { Authorization: `Bearer ${token}` },
      tags: { endpoint: 'products_list' },
    });
    check(again, { 'served again after Retry-After': (r) => r.status === 200 });
  }
}
