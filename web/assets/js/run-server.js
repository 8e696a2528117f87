// What the run view adds when `stampede server` serves it (the dashboard
// of `stampede run` has no login): navigation and the user menu, the
// abort button, JSON/CSV/PDF exports beside HTML, and the "compare with…"
// picker listing the other runs of the same scenario.

import { api, enc, get } from './api.js';
import { canEdit, links, userMenu } from './nav.js';

const $ = (x) => document.getElementById(x);

/** Sets the page up for the server; resolves to a per-state hook, or null. */
export async function server(id) {
  let me;
  try { me = await get('/api/v1/auth/me'); } catch { return null; }
  for (const e of document.querySelectorAll('.server-only')) e.hidden = false;
  $('server-nav').replaceChildren(links(''));
  $('server-user').replaceChildren(userMenu(me));
  for (const f of ['json', 'csv', 'pdf']) $(`export-${f}`).href = `/api/v1/export/${enc(id)}?format=${f}`;
  const edit = canEdit(me);
  $('stop').hidden = !edit;
  $('abort').hidden = !edit;
  $('abort').addEventListener('click', async () => {
    $('abort').disabled = true;
    try { await api('POST', `/api/v1/runs/${enc(id)}/abort`, {}); } catch (e) {
      $('conn').textContent = `abort failed: ${e.message}`;
      $('abort').disabled = false;
    }
  });
  const run = await get(`/api/v1/runs/${enc(id)}`);
  const others = await get(`/api/v1/runs?scenario_id=${run.scenario_id}&limit=50`);
  const sel = $('compare-with');
  for (const r of others.items.filter((r) => r.id !== run.id)) {
    const o = document.createElement('option');
    o.value = String(r.id);
    o.textContent = `#${r.id} · ${r.status} · ${r.created_at}`;
    sel.append(o);
  }
  $('compare').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (sel.value) location.assign(`/compare?a=${enc(sel.value)}&b=${enc(id)}`);
  });
  return (state) => { $('abort').disabled = !state.can_stop; };
}
