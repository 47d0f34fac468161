// Alerts page: alerting rules by state (firing, pending, inactive) with their active alerts, filtered
// by state and by text (rule name, labels, annotations).
import { ago, api, formatDuration, formatValue } from './api.js';
import { el, fill, table } from './dom.js';
import { exprLink } from './rules.js';

const STATES = ['firing', 'pending', 'inactive'];
const CLASS = { firing: 'bad', pending: 'warn', inactive: 'ok' };

const labelList = (labels) => el('span', { class: 'labels' }, Object.entries(labels || {}).map(([k, v]) => el('span', {}, `${k}="${v}"`)));

function alertsTable(alerts) {
  return table(['Labels', 'State', 'Active since', 'Value', 'Annotations'], alerts.map((a) => el('tr', { class: 'alert', 'data-state': a.state },
    el('td', {}, labelList(a.labels)),
    el('td', {}, el('span', { class: `badge ${CLASS[a.state] || 'warn'}` }, a.state)),
    el('td', { title: a.activeAt || '' }, a.activeAt ? `${a.activeAt} (${ago(a.activeAt)})` : '—'),
    el('td', { class: 'num' }, formatValue(a.value)),
    el('td', {}, Object.entries(a.annotations || {}).map(([k, v]) => el('div', { class: 'annotation' }, el('strong', {}, `${k}: `), v))))));
}

export function render(root) {
  const q = new URLSearchParams(location.search);
  const shown = new Set((q.get('state') || STATES.join(',')).split(',').filter((s) => STATES.includes(s)));
  let search = q.get('search') || '';
  let rules = [];
  const buttons = el('div', { class: 'row', id: 'state-filter' });
  const searchBox = el('input', { id: 'alerts-search', type: 'search', placeholder: 'filter by name, label or annotation', value: search, size: 34 });
  const body = el('div', { id: 'alerts' }, el('p', { class: 'muted' }, 'Loading…'));
  root.append(el('h1', {}, 'Alerts'), el('div', { class: 'row' }, buttons, el('span', { class: 'spacer' }), searchBox,
    el('button', { onclick: () => load() }, 'Refresh')), body);
  searchBox.addEventListener('input', () => { search = searchBox.value; draw(); });

  function keep() {
    const qs = new URLSearchParams();
    if (shown.size !== STATES.length) qs.set('state', STATES.filter((s) => shown.has(s)).join(','));
    if (search) qs.set('search', search);
    history.replaceState(null, '', `/alerts${qs.toString() ? '?' + qs : ''}`);
  }

  function draw() {
    keep();
    const count = (s) => rules.filter((r) => r.state === s).length;
    fill(buttons, STATES.map((s) => el('button', {
      class: shown.has(s) ? 'on' : '', 'data-state': s,
      onclick: () => { if (shown.has(s)) shown.delete(s); else shown.add(s); draw(); },
    }, `${s} (${count(s)})`)));
    if (!rules.length) { fill(body, el('p', { class: 'muted' }, 'No alerting rules are loaded.')); return; }
    const s = search.toLowerCase();
    const matches = (r) => !s || r.name.toLowerCase().includes(s) ||
      JSON.stringify([r.labels, r.annotations, (r.alerts || []).map((a) => [a.labels, a.annotations])]).toLowerCase().includes(s);
    fill(body, STATES.filter((st) => shown.has(st)).map((st) => {
      const list = rules.filter((r) => r.state === st && matches(r));
      return el('div', { class: 'state-section', 'data-state': st },
        el('h2', {}, el('span', { class: `badge ${CLASS[st]}` }, st), ` ${list.length} rule${list.length === 1 ? '' : 's'}`),
        list.length ? list.map((r) => el('details', { class: 'card alert-rule', 'data-rule': r.name, open: st !== 'inactive' },
          el('summary', {}, el('strong', {}, r.name), ' ', el('span', { class: 'muted' }, `(${(r.alerts || []).length} active) — group ${r.group}`)),
          el('div', { class: 'rule-def' }, 'expr: ', exprLink(r.query),
            r.duration ? el('span', { class: 'muted' }, ` for ${formatDuration(r.duration)}`) : null,
            Object.keys(r.labels || {}).length ? [' ', labelList(r.labels)] : null),
          r.lastError ? el('div', { class: 'error' }, r.lastError) : null,
          (r.alerts || []).length ? alertsTable(r.alerts) : null))
          : el('p', { class: 'muted' }, 'none'));
    }));
  }

  async function load() {
    try {
      const { data } = await api('rules', { type: 'alert' });
      rules = (data.groups || []).flatMap((g) => (g.rules || []).filter((r) => r.type === 'alerting').map((r) => ({ ...r, group: g.name })));
      draw();
    } catch (e) {
      fill(body, el('div', { class: 'error' }, `Cannot list alerting rules: ${e.message}`));
    }
  }
  load();
  const timer = setInterval(load, 15000);
  return () => clearInterval(timer);
}
