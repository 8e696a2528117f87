// The scenario list: search by name and tag (kept in the query string),
// each scenario linking to its editor and to its baseline run.

import { enc, get } from './api.js';
import { canEdit, el, nav } from './nav.js';

const $ = (x) => document.getElementById(x);

async function load() {
  const p = new URLSearchParams(location.search);
  $('q').value = p.get('name') || '';
  $('tag').value = p.get('tag') || '';
  const q = new URLSearchParams({ limit: '200' });
  if ($('q').value) q.set('name', $('q').value);
  if ($('tag').value) q.set('tag', $('tag').value);
  const [page, marks] = await Promise.all([get(`/api/v1/scenarios?${q}`), get('/api/v1/baselines')]);
  const baseline = new Map(marks.items.map((b) => [b.scenario_id, b.run_id]));
  const frag = document.createDocumentFragment();
  for (const s of page.items) {
    const tr = document.createElement('tr');
    const name = el('td', { class: 'name' });
    name.append(el('a', { href: `/scenarios/${enc(s.id)}` }, s.name));
    if (s.description) name.append(el('div', { class: 'empty' }, s.description));
    const tags = el('td');
    const box = el('div', { class: 'tags' });
    for (const t of s.tags) {
      const a = el('a', { class: 'tag', href: `/scenarios?tag=${enc(t)}` }, t);
      box.append(a);
    }
    tags.append(box);
    const base = el('td', { class: 'baseline' });
    if (baseline.has(s.id)) base.append(el('a', { href: `/runs/${enc(baseline.get(s.id))}` }, `#${baseline.get(s.id)}`));
    else base.textContent = '–';
    tr.append(name, tags, el('td', { class: 'num' }, String(s.version)), base, el('td', {}, s.updated_at));
    frag.append(tr);
  }
  $('list').tBodies[0].replaceChildren(frag);
  $('list-empty').hidden = page.items.length > 0;
}

$('search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = new URLSearchParams();
  if ($('q').value) q.set('name', $('q').value);
  if ($('tag').value) q.set('tag', $('tag').value);
  history.replaceState(null, '', `/scenarios${q.size ? `?${q}` : ''}`);
  load();
});

nav('scenarios').then((me) => {
  $('new').hidden = !canEdit(me);
  return load();
});
