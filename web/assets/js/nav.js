// The server pages' top bar: brand, navigation, theme toggle and the user
// menu (name, role, log out). Each page has an empty `<header id="top">`
// and calls `nav('scenarios')`; it resolves to the signed-in user (or
// null when this is not a server, e.g. `stampede run --web-dashboard`).

import { api } from './api.js';
import * as theme from './theme.js';

// One line per page: key, address, label, and the role it needs (if any).
const LINKS = [
  ['home', '/', 'Home'],
  ['scenarios', '/scenarios', 'Scenarios'],
  ['pipelines', '/pipelines', 'Pipelines'],
  ['schedules', '/schedules', 'Schedules'],
  ['alerts', '/alerts', 'Alerts'],
  ['workers', '/workers', 'Workers'],
  ['admin', '/admin', 'Admin', 'admin'],
];

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text != null) e.textContent = text;
  return e;
}

/** Fills the bar for the page `active`; resolves to the user. */
export async function nav(active) {
  const bar = document.getElementById('top');
  if (bar) {
    const brand = el('a', { class: 'brand', href: '/' });
    brand.append(el('img', { src: '/ui/favicon.svg', alt: '', width: '24', height: '24' }), ' Stampede');
    bar.replaceChildren(brand, links(active), el('span', { class: 'spacer' }),
      el('button', { type: 'button', class: 'ghost', id: 'theme', 'aria-pressed': 'false' }, 'Dark theme'));
  }
  theme.init();
  let me = null;
  try { me = await api('GET', '/api/v1/auth/me'); } catch { return null; }
  if (bar) {
    bar.querySelector('nav.nav').replaceWith(links(active, me));
    bar.append(userMenu(me));
  }
  return me;
}

/** The main navigation, `active` marked as the current page; links that
 * need a role are shown only to `me` having it. */
export function links(active, me) {
  const nav = el('nav', { class: 'nav', 'aria-label': 'Main' });
  for (const [key, href, label, role] of LINKS) {
    if (role && (!me || me.role !== role)) continue;
    const a = el('a', { href }, label);
    if (key === active) a.setAttribute('aria-current', 'page');
    nav.append(a);
  }
  return nav;
}

/** The user menu: name and role, log out. */
export function userMenu(me) {
  const menu = el('details', { class: 'user-menu' });
  const summary = el('summary', { id: 'user' }, `${me.username} · ${me.role}`);
  const box = el('div', { class: 'menu' });
  const out = el('button', { type: 'button', id: 'logout' }, 'Log out');
  out.addEventListener('click', async () => {
    try { await api('POST', '/api/v1/auth/logout', {}); } finally { location.assign('/login'); }
  });
  box.append(out);
  menu.append(summary, box);
  return menu;
}

/** Whether `me` may create, edit, start and stop (editors and admins). */
export const canEdit = (me) => !!me && (me.role === 'editor' || me.role === 'admin');

/** A run's status badge. */
export const badge = (status) => el('span', { class: 'badge', 'data-status': status }, status);

export { el };
