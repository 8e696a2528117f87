// stampede/chaos: drive a chaos agent (stampede chaos serve / proxy, or a
// pipeline's chaos stage) from a script, and declare seed 000's phases.
//
//   import chaos from 'stampede/chaos';
//   const agent = chaos.agent();               // __ENV.CHAOS_AGENT
//   agent.inject('db', { blackhole: true }, { duration: '60s' });
//   agent.restore('db');
//   export const options = { scenarios: chaos.phases({ exec: 'traffic', vus: 5 }) };
import n from 'stampede:native/stampede/chaos';

// Durations parse with k6's one parser (the `config` crate, through the
// native part): "1m30s", "500ms", "2d", or a bare number of milliseconds.
function millis(d) {
  if (typeof d === 'number') {
    if (!Number.isFinite(d) || d < 0) throw new TypeError(`invalid duration ${d}: must be a finite number of milliseconds >= 0`);
    return Math.round(d);
  }
  return n.millis(String(d));
}

function fmt(ms) {
  return `${ms}ms`;
}

export class Agent {
  constructor(address) {
    const a = address || (typeof __ENV !== 'undefined' ? __ENV.CHAOS_AGENT : undefined);
    if (!a) throw new Error('no chaos agent: pass its address or set CHAOS_AGENT');
    this.address = String(a).replace(/^https?:\/\//, '').replace(/\/+$/, '');
  }

  call(method, path, body) {
    const r = n.request(this.address, method, path, body === undefined ? '' : JSON.stringify(body));
    let data = null;
    try { data = r.body ? JSON.parse(r.body) : null; } catch (_) { data = r.body; }
    if (r.status < 200 || r.status > 299) {
      const why = data && data.error ? data.error : r.body;
      throw new Error(`chaos agent ${method} ${path}: ${r.status} ${why}`);
    }
    return data;
  }

  /** Applies a fault; `opts.duration` makes the agent restore it by itself. */
  inject(target, faults, opts) {
    const body = {};
    if (faults) body.faults = faults;
    if (opts && opts.duration !== undefined) body.duration_ms = millis(opts.duration);
    return this.call('POST', `/api/v1/targets/${encodeURIComponent(target)}/inject`, body);
  }

  /** Undoes a target's fault. */
  restore(target) {
    return this.call('POST', `/api/v1/targets/${encodeURIComponent(target)}/restore`);
  }

  /** Undoes every fault. */
  restoreAll() {
    return this.call('POST', '/api/v1/restore');
  }

  /** Every target with its state. */
  targets() {
    return this.call('GET', '/api/v1/targets').targets;
  }
}

/** An agent client (`address` defaults to `__ENV.CHAOS_AGENT`). */
export function agent(address) {
  return new Agent(address);
}

/**
 * Seed 000's phases as scenarios: `baseline`, `inject` and `recover`
 * running `exec` with `vus` VUs, tagged `phase`, and one-iteration
 * scenarios `inject_fault` / `restore_fault` at the boundaries running
 * `injectExec` / `restoreExec` (default `injectFault` / `restoreFault`).
 * `slo` (`{error_rate, p95_ms}`) and `k` set how `stampede run`'s summary
 * measures the recovery time (default: error rate ≤ 1 %, k = 3).
 */
export function phases(o) {
  const opts = o || {};
  const b = millis(opts.baseline === undefined ? '30s' : opts.baseline);
  const i = millis(opts.inject === undefined ? '60s' : opts.inject);
  const r = millis(opts.recover === undefined ? '30s' : opts.recover);
  const vus = opts.vus || 1;
  const exec = opts.exec || 'default';
  const phase = (name, start, duration) => ({
    executor: 'constant-vus', vus, startTime: fmt(start), duration: fmt(duration),
    gracefulStop: '0s', tags: { phase: name }, exec,
  });
  const control = (fn, start) => ({
    executor: 'per-vu-iterations', vus: 1, iterations: 1, startTime: fmt(start),
    tags: { phase: 'control' }, exec: fn,
  });
  // The SLO the recovery time in the summary is measured against:
  // `slo: {error_rate, p95_ms}` and `k` consecutive one-second intervals.
  const recover = phase('recover', b + i, r);
  if (opts.slo !== undefined || opts.k !== undefined) {
    recover.env = { STAMPEDE_CHAOS_SLO: JSON.stringify(Object.assign({}, opts.slo || {}, opts.k === undefined ? {} : { k: opts.k })) };
  }
  return {
    baseline: phase('baseline', 0, b),
    inject_fault: control(opts.injectExec || 'injectFault', b),
    inject: phase('inject', b, i),
    restore_fault: control(opts.restoreExec || 'restoreFault', b + i),
    recover,
  };
}

export default { Agent, agent, phases };
