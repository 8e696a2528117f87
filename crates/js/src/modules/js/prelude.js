// Globals every VU has before the script runs (evaluated as the internal
// module stampede:prelude): timers and their event loop
// hooks, used by k6/timers and by the engine between iterations.
(function () {
  const now = globalThis.__stampede_now;
  const arm = globalThis.__stampede_arm;
  let nextId = 1;
  // Timers by id: a plain object (integer keys iterate in ascending order),
  // so VUs that set no timer never load the optional map built-ins.
  let timers = {};
  function add(fn, ms, args, repeat) {
    if (typeof fn !== 'function') {
      throw new TypeError('the first argument of setTimeout/setInterval must be a function');
    }
    // k6 converts the delay as Go does: one too large for a duration
    // (Infinity, 1e300) wraps negative and fires at once, as in browsers.
    let delay = Math.max(0, Number(ms) || 0);
    if (!(delay < 9223372036854)) delay = 0;
    const id = nextId++;
    timers[id] = { fn, args, at: now() + delay, every: repeat ? delay : -1 };
    arm();
    return id;
  }
  const api = {
    setTimeout: (fn, ms, ...args) => add(fn, ms, args, false),
    setInterval: (fn, ms, ...args) => add(fn, ms, args, true),
    clearTimeout: (id) => { delete timers[id]; },
    clearInterval: (id) => { delete timers[id]; },
    // Milliseconds until the next timer is due, or -1 when none is pending.
    next() {
      let min = Infinity;
      for (const id in timers) if (timers[id].at < min) min = timers[id].at;
      return min === Infinity ? -1 : Math.max(0, min - now());
    },
    // Runs the earliest due timer, if any.
    fire() {
      let dueId = 0, due = null;
      for (const id in timers) {
        const t = timers[id];
        if (due === null || t.at < due.at) { due = t; dueId = id; }
      }
      if (due === null || due.at > now()) return;
      if (due.every >= 0) due.at = now() + due.every; else delete timers[dueId];
      due.fn(...due.args);
    },
    clear() { timers = {}; },
  };
  Object.defineProperty(globalThis, '__stampede_timers', { value: api });
  for (const k of ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval']) {
    globalThis[k] = api[k];
  }
})();
