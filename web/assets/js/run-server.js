// What the run view adds when `stampede server` serves it (the dashboard
// of `stampede run` has no login): navigation and the user menu, the
// abort button, JSON/CSV/PDF exports beside HTML, the "compare with…"
// picker listing the other runs of the same scenario (its baseline run
// chosen by default), marking this run as the scenario's baseline, and
// changing the VUs of a running externally-controlled scenario (editors).

import { api, enc, get } from './api.js';
import { canEdit, links, userMenu } from './nav.js';

const $ = (x) => document.getElementById(x);

/** Sets the page up for the server; resolves to a per-state hook, or null. */
export async function server(id) {
  let me;
  try { me = await get('/api/v1/auth/me'); } catch { return null; }
  for (const e of document.querySelectorAll('.server-only')) e.hidden = false;
  $('server-nav').replaceChildren(links('', me));
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
  const [others, marks] = await Promise.all([
    get(`/api/v1/runs?scenario_id=${run.scenario_id}&limit=50`),
    get('/api/v1/baselines'),
  ]);
  const mark = marks.items.find((b) => b.scenario_id === run.scenario_id);
  const baseline = mark ? mark.run_id : null;
  const sel = $('compare-with');
  for (const r of others.items.filter((r) => r.id !== run.id)) {
    const o = document.createElement('option');
    o.value = String(r.id);
    o.textContent = `#${r.id} · ${r.status} · ${r.created_at}${r.id === baseline ? ' · baseline' : ''}`;
    sel.append(o);
  }
  // The scenario's baseline is the default to compare with.
  if (baseline != null && baseline !== run.id) sel.value = String(baseline);
  $('compare').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (sel.value) location.assign(`/compare?a=${enc(sel.value)}&b=${enc(id)}`);
  });
  const ctx = { run, baseline, edit };
  baselineControls(ctx);
  $('scale').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const vus = Number($('scale-vus').value);
    try {
      await api('PATCH', `/api/v1/runs/${enc(id)}`, { vus });
      $('scale-state').textContent = `VUs set to ${vus}`;
    } catch (e) {
      $('scale-state').textContent = `cannot change the VUs: ${e.message}`;
    }
  });
  return (state) => {
    $('abort').disabled = !state.can_stop;
    const ext = state.scenarios.find((s) => s.executor === 'externally-controlled' && !s.finished);
    $('scale').hidden = !edit || !ext || isFinal(state.status);
    if (ext) $('scale-vus').max = String(ext.max_vus);
    if (state.status !== run.status && isFinal(state.status)) {
      run.status = state.status;
      baselineControls(ctx);
    }
  };
}

const isFinal = (s) => ['passed', 'failed', 'aborted', 'errored'].includes(s);

/** "Baseline of its scenario" and the editor's mark / unmark buttons. */
function baselineControls(ctx) {
  const { run, baseline, edit } = ctx;
  const is = baseline === run.id;
  $('baseline-state').textContent = is ? 'This run is its scenario’s baseline'
    : baseline != null ? `Baseline: run #${baseline}` : 'No baseline run';
  $('baseline-state').dataset.baseline = is ? 'this' : baseline != null ? 'other' : 'none';
  $('baseline-mark').hidden = !edit || is || !isFinal(run.status);
  $('baseline-clear').hidden = !edit || !is;
  $('baseline-mark').onclick = () => setBaseline(ctx, 'PUT', { run_id: run.id });
  $('baseline-clear').onclick = () => setBaseline(ctx, 'DELETE');
}

async function setBaseline(ctx, method, body) {
  try {
    await api(method, `/api/v1/scenarios/${enc(ctx.run.scenario_id)}/baseline`, body);
    ctx.baseline = method === 'PUT' ? ctx.run.id : null;
    baselineControls(ctx);
  } catch (e) {
    $('baseline-state').textContent = `cannot change the baseline: ${e.message}`;
  }
}
