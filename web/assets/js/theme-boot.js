// Sets the saved (or the system's) theme on <html> before the first paint.
// A classic script in the shared head (layout.html), so it runs while the
// page is parsed: the modules run only afterwards, and the page would
// first paint in the other theme. theme.js takes over from there.
(function () {
  var theme = null;
  try { theme = localStorage.getItem('stampede-theme'); } catch (e) { /* storage blocked: follow the system */ }
  if (theme !== 'light' && theme !== 'dark') {
    theme = matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  }
  document.documentElement.dataset.theme = theme;
})();
