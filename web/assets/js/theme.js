// Light and dark themes: the system preference unless the user chose one
// (kept in localStorage). Charts read their colours from CSS variables, so
// listeners redraw them when the theme changes.

const KEY = 'stampede-theme';
const listeners = [];

function preferred() {
  const saved = localStorage.getItem(KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** The current theme: 'light' or 'dark'. */
export function current() {
  return document.documentElement.dataset.theme || 'light';
}

/** Applies a theme and tells the listeners. */
export function apply(theme) {
  document.documentElement.dataset.theme = theme;
  const button = document.getElementById('theme');
  if (button) {
    button.setAttribute('aria-pressed', String(theme === 'dark'));
    button.textContent = theme === 'dark' ? 'Light theme' : 'Dark theme';
  }
  for (const f of listeners) f(theme);
}

/** Calls `f(theme)` on every change. */
export function onChange(f) { listeners.push(f); }

/** A CSS custom property's value on the root element. */
export function color(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Sets the initial theme and wires the toggle button; follows the
 *  system's preference until the user picks a theme. */
export function init() {
  apply(preferred());
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    if (!localStorage.getItem(KEY)) apply(preferred());
  });
  document.getElementById('theme')?.addEventListener('click', () => {
    const next = current() === 'dark' ? 'light' : 'dark';
    localStorage.setItem(KEY, next);
    apply(next);
  });
}
