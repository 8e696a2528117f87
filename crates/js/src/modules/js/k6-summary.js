// Built-in copy of https://jslib.k6.io/k6-summary/<version>/index.js.
import n from 'stampede:native/jslib/k6-summary';

export function textSummary(data, options) {
  // JSLIB_VERSION is prepended by the loader: the text differs by version.
  return n.textSummary(data, Object.assign({}, options || {}, { jslibVersion: JSLIB_VERSION }));
}

function escapeXml(s) {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function jUnit(data, options) {
  const opts = Object.assign({ name: 'k6 thresholds' }, options || {});
  let failures = 0;
  const cases = [];
  for (const metricName of Object.keys(data.metrics || {})) {
    const metric = data.metrics[metricName];
    if (!metric.thresholds) continue;
    for (const thresholdName of Object.keys(metric.thresholds)) {
      const t = metric.thresholds[thresholdName];
      const caseName = escapeXml(`${metricName} - ${thresholdName}`);
      if (t.ok) {
        cases.push(`<testcase name="${caseName}" />`);
      } else {
        failures++;
        cases.push(`<testcase name="${caseName}"><failure message="failed" /></testcase>`);
      }
    }
  }
  return `<?xml version="1.0"?>\n<testsuites tests="${cases.length}" failures="${failures}">\n` +
    `<testsuite name="${escapeXml(opts.name)}" tests="${cases.length}" failures="${failures}">` +
    cases.join('\n') + '\n</testsuite>\n</testsuites>';
}

export default { textSummary, jUnit };
