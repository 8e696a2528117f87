// Shared configuration of the examples: where the target is, how to read
// scaling variables, and seed 001's `baseConfig` (k6/config/base.js).
//
// Every example runs against `stampede target` (http://127.0.0.1:3000) by
// default; set BASE_URL to test another deployment of the same API.

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');

// The WebSocket address of the same host (ws:// for http://, wss:// for https://).
export const WS_URL = __ENV.WS_URL || BASE_URL.replace(/^http/, 'ws');

export const JSON_HEADERS = { 'Content-Type': 'application/json' };

// Seed 001, Phase 1.1 (k6/config/base.js), as written there.
export const baseConfig = {
  stages: [
    { duration: '2m', target: 100 }, // Ramp up
    { duration: '5m', target: 100 }, // Stay at 100 users
    { duration: '2m', target: 0 }, // Ramp down
  ],
  thresholds: {
    http_req_duration: ['p(95)<500'], // 95% of requests under 500ms
    http_req_failed: ['rate<0.1'], // Error rate under 10%
  },
};

// ---------------------------------------------------------------------------
// Environment variables

function raw(name) {
  const v = __ENV[name];
  return v === undefined || v === '' ? undefined : v;
}

/** A number from the environment, or `dflt`. A malformed value is an error. */
export function envNumber(name, dflt) {
  const v = raw(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name}=${v} is not a number`);
  return n;
}

/** A whole number (VUs, counts) from the environment, or `dflt`. */
export function envInt(name, dflt) {
  const n = envNumber(name, dflt);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${__ENV[name]} is not a whole number`);
  return n;
}

/** A string from the environment, or `dflt`. */
export function envString(name, dflt) {
  const v = raw(name);
  return v === undefined ? dflt : v;
}

/** A k6 duration ('90s', '1m30s', '4h') from the environment, or `dflt`. */
export function envDuration(name, dflt) {
  const v = raw(name);
  if (v === undefined) return dflt;
  parseDuration(v, name); // validates
  return v;
}

/** A boolean ('1', 'true', 'yes' / '0', 'false', 'no') from the environment. */
export function envBool(name, dflt) {
  const v = raw(name);
  if (v === undefined) return dflt;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new Error(`${name}=${v} is not a boolean`);
}

// ---------------------------------------------------------------------------
// Durations and stages

const UNITS = { h: 3600000, m: 60000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

/** Milliseconds in a k6 duration string ('2m', '1h30m', '500ms') or a number of ms. */
export function parseDuration(d, what = 'duration') {
  if (typeof d === 'number') return d;
  const s = String(d).trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000; // bare seconds, as k6 accepts
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/gy;
  let total = 0;
  let m;
  let end = 0;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNITS[m[2]];
    end = re.lastIndex;
  }
  if (end !== s.length || s.length === 0) throw new Error(`${what}: invalid duration ${JSON.stringify(d)}`);
  return total;
}

/** A k6 duration string for `ms` milliseconds ('15s', '1m30s', '250ms'). */
export function formatDuration(ms) {
  ms = Math.max(0, Math.round(ms));
  if (ms % 1000 !== 0) return `${ms}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return (h ? `${h}h` : '') + (m ? `${m}m` : '') + (s || (!h && !m) ? `${s}s` : '');
}

/** Scales a number of VUs: 0 stays 0, anything else becomes at least 1. */
export function scaleVUs(n, scale) {
  return n === 0 ? 0 : Math.max(1, Math.round(n * scale));
}

/** Scales a duration by `factor` (at least 100 ms). */
export function scaleDuration(d, factor) {
  return formatDuration(Math.max(100, parseDuration(d) * factor));
}

/**
 * A seed's stages at a different size: every target times `vus`, every
 * duration times `time`. `scaleStages(baseConfig.stages, { vus: 1, time: 1 })`
 * is the seed's full run.
 */
export function scaleStages(stages, { vus = 1, time = 1 } = {}) {
  return stages.map((st) => ({
    duration: scaleDuration(st.duration, time),
    target: scaleVUs(st.target, vus),
  }));
}

/** Total milliseconds of a list of stages. */
export function stagesDuration(stages) {
  return stages.reduce((sum, st) => sum + parseDuration(st.duration), 0);
}

// ---------------------------------------------------------------------------
// Latency thresholds

// Multiplies every latency limit of the examples' thresholds (default 1: the
// seeds' targets as written). Slow machines and debug builds of the target
// may need more; Stampede's own test suite uses LATENCY_FACTOR=10.
export const LATENCY_FACTOR = envNumber('LATENCY_FACTOR', 1);

/** `ms` milliseconds, times LATENCY_FACTOR, for use in thresholds. */
export function ms(limit) {
  return limit * LATENCY_FACTOR;
}

/** Seed 001's baseConfig thresholds, with LATENCY_FACTOR applied. */
export function baseThresholds() {
  return {
    http_req_duration: [`p(95)<${ms(500)}`],
    http_req_failed: baseConfig.thresholds.http_req_failed.slice(),
  };
}
