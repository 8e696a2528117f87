// Built-in copy of https://jslib.k6.io/k6-utils/<version>/index.js.
import crypto from 'k6/crypto';
import exec from 'k6/execution';

export function uuidv4(secure = false) {
  // Secure: random bytes from the system; otherwise from Math.random (so
  // randomSeed makes them repeatable, as with the original jslib).
  const hex = secure
    ? crypto.sha256(crypto.randomBytes(16), 'hex').slice(0, 32)
    : Array.from({ length: 16 }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0')).join('');
  const b6 = ((parseInt(hex.slice(12, 14), 16) & 0x0f) | 0x40).toString(16).padStart(2, '0');
  const b8 = ((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16).padStart(2, '0');
  const h = hex.slice(0, 12) + b6 + hex.slice(14, 16) + b8 + hex.slice(18);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function randomIntBetween(min, max) {
  return Math.floor(Math.random() * (max - min + 1) + min);
}

export function randomItem(arrayOfItems) {
  return arrayOfItems[Math.floor(Math.random() * arrayOfItems.length)];
}

export function randomString(length, charset = 'abcdefghijklmnopqrstuvwxyz') {
  let res = '';
  while (length--) res += charset[(Math.random() * charset.length) | 0];
  return res;
}

export function findBetween(content, left, right, repeat = false) {
  const extracted = [];
  let doSearch = true;
  let start, end = 0;
  while (doSearch) {
    start = content.indexOf(left);
    if (start === -1) break;
    start += left.length;
    end = content.indexOf(right, start);
    if (end === -1) break;
    const extractedContent = content.substring(start, end);
    if (!repeat) return extractedContent;
    extracted.push(extractedContent);
    content = content.substring(end + right.length);
  }
  return extracted.length ? extracted : null;
}

export function normalDistributionStages(maxVus, durationSeconds, numberOfStages = 10) {
  function normalDensity(mean, scale, x) {
    return Math.exp((-1 / 2) * Math.pow((x - mean) / scale, 2)) / (scale * Math.sqrt(2 * Math.PI));
  }
  const mean = 0;
  const scale = 1;
  const stageDuration = Math.floor(durationSeconds / numberOfStages);
  const maxDensity = normalDensity(mean, scale, mean);
  const normalize = (d) => Math.round((d / maxDensity) * maxVus);
  const stages = [{ duration: `${Math.floor(stageDuration * 0.1)}s`, target: normalize(normalDensity(mean, scale, -3)) }];
  for (let i = 1; i <= numberOfStages; i++) {
    const x = -3 + (6 * i) / (numberOfStages + 1);
    stages.push({ duration: `${stageDuration}s`, target: normalize(normalDensity(mean, scale, x)) });
  }
  stages.push({ duration: `${Math.floor(stageDuration * 0.1)}s`, target: 0 });
  return stages;
}

function parseDurationSeconds(d) {
  if (typeof d === 'number') return d / 1000;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g;
  let m;
  while ((m = re.exec(d)) !== null) {
    const v = parseFloat(m[1]);
    total += { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, 'µs': 1e-6, ns: 1e-9 }[m[2]] * v;
  }
  return total;
}

function currentStages() {
  const opts = exec.test.options;
  if (opts.scenarios && opts.scenarios[exec.scenario.name] && opts.scenarios[exec.scenario.name].stages) {
    return opts.scenarios[exec.scenario.name].stages;
  }
  if (opts.stages) return opts.stages;
  throw new Error('the current scenario has no stages');
}

export function getCurrentStageIndex() {
  const stages = currentStages();
  const elapsed = exec.instance.currentTestRunDuration / 1000;
  let sum = 0;
  for (let i = 0; i < stages.length; i++) {
    sum += parseDurationSeconds(stages[i].duration);
    if (elapsed < sum) return i;
  }
  return stages.length - 1;
}

export function tagWithCurrentStageIndex() {
  exec.vu.tags['stage'] = getCurrentStageIndex();
}

export function tagWithCurrentStageProfile() {
  const stages = currentStages();
  const i = getCurrentStageIndex();
  const prev = i === 0 ? 0 : stages[i - 1].target;
  const target = stages[i].target;
  exec.vu.tags['stage_profile'] = target > prev ? 'ramp-up' : target < prev ? 'ramp-down' : 'steady';
}

export default {
  uuidv4, randomIntBetween, randomItem, randomString, findBetween, normalDistributionStages,
  getCurrentStageIndex, tagWithCurrentStageIndex, tagWithCurrentStageProfile,
};
