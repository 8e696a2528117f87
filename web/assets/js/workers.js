// The workers, live (every two seconds): whatever `GET /api/v1/workers`
// answers, one row each, one column per field (id, state, capacity, load,
// heartbeat age, … as the transport reports them); a `last_heartbeat`
// time also shows as an age.

import { get } from './api.js';
import { el, nav } from './nav.js';

const $ = (x) => document.getElementById(x);
const FIRST = ['id', 'state', 'transport', 'capacity', 'load', 'active_segments', 'last_heartbeat'];

function cell(v) {
  if (v == null) return '–';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function age(v) {
  const t = Date.parse(v);
  if (Number.isNaN(t)) return null;
  return `${Math.max(0, Math.round((Date.now() - t) / 1000))} s ago`;
}

async function refresh() {
  try {
    const list = (await get('/api/v1/workers')).items || [];
    const keys = [...new Set(list.flatMap((w) => Object.keys(w)))];
    keys.sort((a, b) => (FIRST.indexOf(a) + 1 || 99) - (FIRST.indexOf(b) + 1 || 99));
    const head = $('workers').tHead.rows[0];
    head.replaceChildren(...keys.map((k) => el('th', { scope: 'col' }, k.replaceAll('_', ' '))));
    const frag = document.createDocumentFragment();
    for (const w of list) {
      const tr = el('tr', { 'data-state': cell(w.state) });
      for (const k of keys) {
        const hb = /heartbeat/.test(k) && typeof w[k] === 'string' ? age(w[k]) : null;
        tr.append(el('td', {}, hb ? `${hb} (${w[k]})` : cell(w[k])));
      }
      frag.append(tr);
    }
    $('workers').tBodies[0].replaceChildren(frag);
    $('workers-empty').hidden = list.length > 0;
    $('error').hidden = true;
    $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    $('error').textContent = e.message;
    $('error').hidden = false;
  }
  setTimeout(refresh, 2000);
}

nav('workers').then(refresh);
