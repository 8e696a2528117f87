// k6/timers: the same timers as the globals, driven by the VU's event loop.
const t = globalThis.__stampede_timers;
export const setTimeout = t.setTimeout;
export const clearTimeout = t.clearTimeout;
export const setInterval = t.setInterval;
export const clearInterval = t.clearInterval;
export default { setTimeout, clearTimeout, setInterval, clearInterval };
