// Targets page: scrape targets by job (scrape pool) with health, last scrape, duration, error, labels.
import { ago, api } from './api.js';
import { el, fill, table } from './dom.js';

const STATES = ['all', 'up', 'down', 'unknown'];

export function render(root) {
  const q = new URLSearchParams(location.search);
  let stateFilter = STATES.includes(q.get('state')) ? q.get('state') : 'all';
  let search = q.get('search') || '';
  let targets = [];
  const buttons = el('div', { class: 'row', id: 'state-filter' });
  const searchBox = el('input', { type: 'search', placeholder: 'filter by label or URL', value: search, size: 30 });
  const body = el('div', { id: 'targets' });
  const drawButtons = () => fill(buttons, STATES.map((s) => el('button', {
    class: s === stateFilter ? 'on' : '', 'data-state': s,
    onclick: () => { stateFilter = s; drawButtons(); draw(); },
  }, s)));
  drawButtons();
  searchBox.addEventListener('input', () => { search = searchBox.value; draw(); });
  root.append(el('h1', {}, 'Targets'), el('div', { class: 'row' }, buttons, el('span', { class: 'spacer' }), searchBox,
    el('button', { onclick: () => load() }, 'Refresh')), body);

  function keep() {
    const qs = new URLSearchParams();
    if (stateFilter !== 'all') qs.set('state', stateFilter);
    if (search) qs.set('search', search);
    history.replaceState(null, '', `/targets${qs.toString() ? '?' + qs : ''}`);
  }

  function draw() {
    keep();
    const s = search.toLowerCase();
    const shown = targets.filter((t) => (stateFilter === 'all' || (t.health || 'unknown') === stateFilter) &&
      (!s || JSON.stringify(t.labels).toLowerCase().includes(s) || (t.scrapeUrl || '').toLowerCase().includes(s)));
    const pools = new Map();
    for (const t of targets) {
      const pool = t.scrapePool || t.labels?.job || '(no job)';
      if (!pools.has(pool)) pools.set(pool, { all: [], shown: [] });
      pools.get(pool).all.push(t);
    }
    for (const t of shown) pools.get(t.scrapePool || t.labels?.job || '(no job)').shown.push(t);
    if (!targets.length) { fill(body, el('p', { class: 'muted' }, 'No scrape targets are configured.')); return; }
    fill(body, [...pools.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([pool, p]) => {
      const up = p.all.filter((t) => t.health === 'up').length;
      if (!p.shown.length) return null;
      return el('div', { class: 'card pool', 'data-pool': pool },
        el('h2', {}, pool, ' ', el('span', { class: `badge ${up === p.all.length ? 'up' : 'down'}` }, `${up}/${p.all.length} up`)),
        table(['Endpoint', 'State', 'Labels', 'Last scrape', 'Duration', 'Error'], p.shown.map((t) => el('tr', { class: 'target' },
          el('td', {}, el('a', { href: t.scrapeUrl, target: '_blank', rel: 'noopener' }, t.scrapeUrl)),
          el('td', {}, el('span', { class: `badge ${t.health || 'unknown'}` }, t.health || 'unknown')),
          el('td', { class: 'labels' }, Object.entries(t.labels || {}).map(([k, v]) => el('span', {}, `${k}="${v}"`))),
          el('td', { title: t.lastScrape || '' }, ago(t.lastScrape)),
          el('td', { class: 'num' }, t.lastScrapeDuration ? `${(t.lastScrapeDuration * 1000).toFixed(1)} ms` : '—'),
          el('td', { class: 'error-cell' }, t.lastError ? el('span', { class: 'error' }, t.lastError) : '')))));
    }));
  }

  async function load() {
    try {
      const { data } = await api('targets', { state: 'active' });
      targets = data.activeTargets || [];
      draw();
    } catch (e) {
      fill(body, el('div', { class: 'error' }, `Cannot list targets: ${e.message}`));
    }
  }
  load();
  const timer = setInterval(load, 15000);
  return () => clearInterval(timer);
}
