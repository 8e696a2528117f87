// Number formatting for the run view: durations in ms, bytes, rates.

/** Milliseconds as people read them: 850 µs, 12.3 ms, 1.24 s. */
export function ms(v) {
  if (v == null || !isFinite(v)) return '–';
  if (v === 0) return '0 ms';
  if (v < 1) return `${(v * 1000).toFixed(0)} µs`;
  if (v < 1000) return `${v < 100 ? v.toFixed(1) : v.toFixed(0)} ms`;
  return `${(v / 1000).toFixed(2)} s`;
}

/** Bytes with SI units (k6's convention): 1.2 kB, 3.4 MB. */
export function bytes(v) {
  if (v == null || !isFinite(v)) return '–';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** A share (0..1) as a percentage. */
export function pct(v) {
  if (v == null || !isFinite(v)) return '–';
  const p = v * 100;
  return `${p === 0 || p >= 10 ? p.toFixed(1) : p.toFixed(2)}%`;
}

/** A plain number with at most `d` decimals and thousands separators. */
export function num(v, d = 0) {
  if (v == null || !isFinite(v)) return '–';
  return v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: 0 });
}

/** Seconds as m:ss or h:mm:ss. */
export function clock(s) {
  if (s == null || !isFinite(s)) return '–';
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? h + ':' : ''}${mm}:${String(sec).padStart(2, '0')}`;
}

/** A threshold's observed value in the metric's unit. */
export function observed(t) {
  if (t.observed == null) return '–';
  if (t.kind === 'rate' && /^\s*rate/.test(t.expression)) return pct(t.observed);
  if (t.contains === 'time') return ms(t.observed);
  if (t.contains === 'data') return bytes(t.observed);
  return num(t.observed, 3);
}
