// Client-side router: every page is a module exporting `render(root, params)`, which may return a
// cleanup function (timers, listeners) called when the user leaves the page.
import * as explorer from './explorer.js';
import * as targets from './targets.js';
import * as status from './status.js';
import * as rules from './rules.js';
import * as alerts from './alerts.js';
import * as dashboard from './dashboard.js';
import { el } from './dom.js';

const pages = [
  { match: /^\/(graph|query)\/?$/, page: 'graph', mod: explorer },
  { match: /^\/targets\/?$/, page: 'targets', mod: targets },
  { match: /^\/rules\/?$/, page: 'rules', mod: rules },
  { match: /^\/alerts\/?$/, page: 'alerts', mod: alerts },
  { match: /^\/status\/?$/, page: 'status', mod: status },
  { match: /^\/dashboards\/sextant\/?$/, page: 'sextant', mod: dashboard, params: ['sextant'] },
  { match: /^\/dashboards\/([\w-]+)\/?$/, page: 'dashboard', mod: dashboard },
  { match: /^\/(dashboards\/?)?$/, page: 'dashboard', mod: dashboard, params: ['beacon'] },
];

let cleanup = null;

function route() {
  const main = document.getElementById('main');
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  const path = location.pathname;
  const hit = pages.find((p) => p.match.test(path));
  document.querySelectorAll('[data-page]').forEach((a) => a.classList.toggle('active', !!hit && a.dataset.page === hit.page));
  main.replaceChildren();
  if (!hit) {
    main.append(el('p', { class: 'error' }, `No page at ${path}.`));
    return;
  }
  const params = hit.params || path.match(hit.match).slice(1);
  try {
    cleanup = hit.mod.render(main, params) || null;
  } catch (e) {
    main.append(el('p', { class: 'error' }, `This page failed to draw: ${e.message}`));
    console.error(e);
  }
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest && ev.target.closest('a[data-nav]');
  if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
  ev.preventDefault();
  history.pushState(null, '', a.getAttribute('href'));
  route();
});
window.addEventListener('popstate', route);
window.addEventListener('sextant:navigate', route);
route();
