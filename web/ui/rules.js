// Rules page: rule groups (file, interval, last evaluation, evaluation time) with their recording and
// alerting rules: expression (opens in the explorer), health and last error, alert state.
import { ago, api, formatDuration } from './api.js';
import { el, fill, table } from './dom.js';

/** A rule's expression as a link to the explorer. */
export const exprLink = (query) => el('a', { class: 'mono expr', href: `/graph?expr=${encodeURIComponent(query)}&tab=table`, 'data-nav': true }, query);

const HEALTH = { ok: 'ok', err: 'bad', unknown: 'warn' };
const STATE = { firing: 'bad', pending: 'warn', inactive: 'ok' };

const evalTime = (s) => (Number.isFinite(s) && s > 0 ? `${(s * 1000).toFixed(2)} ms` : '—');

function ruleRow(r) {
  const alerting = r.type === 'alerting';
  return el('tr', { class: 'rule', 'data-rule': r.name, 'data-type': r.type },
    el('td', { class: 'mono' }, alerting ? 'alert: ' : 'record: ', el('strong', {}, r.name)),
    el('td', {}, exprLink(r.query),
      alerting && r.duration ? el('div', { class: 'muted' }, `for: ${formatDuration(r.duration)}`) : null,
      Object.keys(r.labels || {}).length ? el('div', { class: 'labels' }, Object.entries(r.labels).map(([k, v]) => el('span', {}, `${k}="${v}"`))) : null),
    el('td', {}, el('span', { class: `badge ${HEALTH[r.health] || 'warn'}` }, r.health || 'unknown'),
      r.lastError ? el('div', { class: 'error-cell' }, r.lastError) : null),
    el('td', {}, alerting ? [el('span', { class: `badge state ${STATE[r.state] || 'warn'}` }, r.state),
      ' ', el('span', { class: 'muted active-count' }, `${(r.alerts || []).length} active`)] : ''),
    el('td', { title: r.lastEvaluation || '' }, ago(r.lastEvaluation)),
    el('td', { class: 'num' }, evalTime(r.evaluationTime)));
}

export function render(root) {
  const body = el('div', { id: 'rules' }, el('p', { class: 'muted' }, 'Loading…'));
  root.append(el('div', { class: 'row' }, el('h1', {}, 'Rules'), el('span', { class: 'spacer' }),
    el('button', { onclick: () => load() }, 'Refresh')), body);

  async function load() {
    try {
      const { data } = await api('rules');
      const groups = data.groups || [];
      if (!groups.length) { fill(body, el('p', { class: 'muted' }, 'No rule groups are loaded (see rule_files in the configuration).')); return; }
      fill(body, groups.map((g) => el('div', { class: 'card group', 'data-group': g.name },
        el('h2', {}, g.name),
        el('div', { class: 'row muted group-info' },
          el('span', {}, 'file: ', el('span', { class: 'mono' }, g.file)),
          el('span', {}, `interval: ${formatDuration(g.interval)}`),
          el('span', { title: g.lastEvaluation || '' }, `last evaluation: ${ago(g.lastEvaluation)}`),
          el('span', {}, `evaluation time: ${evalTime(g.evaluationTime)}`)),
        (g.rules || []).length
          ? table(['Rule', 'Expression', 'Health', 'State', 'Last evaluation', 'Evaluation time'], g.rules.map(ruleRow))
          : el('p', { class: 'muted' }, 'no rules'))));
    } catch (e) {
      fill(body, el('div', { class: 'error' }, `Cannot list rules: ${e.message}`));
    }
  }
  load();
  const timer = setInterval(load, 15000);
  return () => clearInterval(timer);
}
