// Seed 001, Phase 2.2 (k6/config/tiers.js), as written there. The demo
// target enforces exactly these `rps` values per tenant (a token bucket that
// holds one second's worth), so rate-limit.js and multi-tenant.js read them
// from here.
export const tierLimits = {
  free: {
    rps: 20, // Requests per second
    concurrent_users: 10,
    error_threshold: 0.05,
  },
  starter: {
    rps: 200,
    concurrent_users: 50,
    error_threshold: 0.02,
  },
  professional: {
    rps: 2000,
    concurrent_users: 500,
    error_threshold: 0.01,
  },
  enterprise: {
    rps: 10000,
    concurrent_users: 5000,
    error_threshold: 0.005,
  },
};

// The shop's tenant accounts, one per tier (seed 001's setup() logs in the
// first three). Any non-empty password is accepted by the demo target.
export const TIER_EMAILS = {
  free: 'free-tier@example.com',
  starter: 'starter-tier@example.com',
  professional: 'pro-tier@example.com',
  enterprise: 'enterprise-tier@example.com',
};

export const TIERS = Object.keys(tierLimits);

/** The tier named by `name`, or an error listing the known ones. */
export function checkTier(name) {
  if (!tierLimits[name]) {
    throw new Error(`unknown tier ${JSON.stringify(name)}; use one of ${TIERS.join(', ')}`);
  }
  return name;
}
