// Query explorer: PromQL input with completion, graph (query_range) and table (query) views.
// The whole state lives in the URL (/graph?expr=...&tab=...&range=...&end=...&step=...&stacked=1).
import { api, autoStep, formatDuration, formatSeries, parseDuration } from './api.js';
import { heatmapChart, histogramBars, timeChart } from './chart.js';
import { attachCompletion } from './complete.js';
import { el, fill, table } from './dom.js';

const MAX_SERIES = 200;
const MAX_ROWS = 2000;
const RANGES = ['5m', '15m', '30m', '1h', '3h', '6h', '12h', '1d', '2d', '7d', '14d'];

function readState() {
  const q = new URLSearchParams(location.search);
  // Prometheus' own UI links (/graph?g0.expr=...&g0.tab=1&g0.range_input=1h) work too
  const tab = q.get('tab') || (q.get('g0.tab') === '1' ? 'table' : q.get('g0.tab') === '0' ? 'graph' : '');
  return {
    expr: q.get('expr') || q.get('g0.expr') || '',
    tab: tab === 'table' ? 'table' : 'graph',
    range: q.get('range') || q.get('g0.range_input') || '1h',
    end: q.get('end') || '',
    step: q.get('step') || '',
    stacked: q.get('stacked') === '1',
  };
}

function writeState(s) {
  const q = new URLSearchParams();
  if (s.expr) q.set('expr', s.expr);
  q.set('tab', s.tab);
  q.set('range', s.range);
  if (s.end) q.set('end', s.end);
  if (s.step) q.set('step', s.step);
  if (s.stacked) q.set('stacked', '1');
  const url = `${location.pathname}?${q}`;
  if (url !== location.pathname + location.search) history.replaceState(null, '', url);
}

/** End time in seconds for a state ('' = now). */
function endSec(s) {
  if (!s.end) return Date.now() / 1000;
  const t = Date.parse(s.end);
  return Number.isFinite(t) ? t / 1000 : Date.now() / 1000;
}

/** ISO string for <input type=datetime-local> in local time. */
function toLocalInput(sec) {
  const d = new Date(sec * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function render(root) {
  const state = readState();
  let chart = null; let abort = null;

  const input = el('textarea', { id: 'expr', rows: 1, placeholder: 'PromQL expression, e.g. rate(beacon_reorgs_total[5m])  (Enter runs, Shift+Enter new line, Ctrl+Space completes)', spellcheck: 'false' });
  input.value = state.expr;
  const editor = el('div', { class: 'editor' }, input);
  const runBtn = el('button', { class: 'primary', id: 'run', onclick: () => run() }, 'Execute');
  const tabs = el('div', { class: 'tabs' });
  const rangeInput = el('input', { id: 'range', list: 'ranges', size: 6, value: state.range, title: 'time range (5m, 1h, 2d...)' });
  const endInput = el('input', { id: 'end', type: 'datetime-local', step: 1, value: state.end ? toLocalInput(endSec(state)) : '', title: 'end time (empty = now)' });
  const stepInput = el('input', { id: 'step', size: 6, placeholder: 'auto', value: state.step, title: 'resolution step (e.g. 15s); empty = automatic' });
  const stackedBox = el('input', { id: 'stacked', type: 'checkbox', checked: state.stacked });
  const controls = el('div', { class: 'row controls' },
    el('button', { title: 'zoom out', onclick: () => { state.range = formatDuration(rangeSec() * 2); rangeInput.value = state.range; run(); } }, '−'),
    el('label', {}, 'Range', rangeInput),
    el('button', { title: 'zoom in', onclick: () => { state.range = formatDuration(Math.max(60, rangeSec() / 2)); rangeInput.value = state.range; run(); } }, '+'),
    el('datalist', { id: 'ranges' }, RANGES.map((r) => el('option', { value: r }))),
    el('label', {}, 'End', endInput),
    el('button', { title: 'end = now', onclick: () => { endInput.value = ''; state.end = ''; run(); } }, 'now'),
    el('label', {}, 'Step', stepInput),
    el('label', { class: 'graph-only' }, stackedBox, 'Stacked'));
  const info = el('div', { class: 'muted', id: 'query-info' });
  const messages = el('div', { id: 'messages' });
  const output = el('div', { id: 'output' });

  const rangeSec = () => {
    const r = parseDuration(rangeInput.value);
    return r > 0 ? r : 3600;
  };

  const drawTabs = () => fill(tabs, ['graph', 'table'].map((t) => el('button', {
    class: state.tab === t ? 'on' : '', 'data-tab': t,
    onclick: () => { state.tab = t; drawTabs(); run(); },
  }, t === 'graph' ? 'Graph' : 'Table')));
  drawTabs();

  root.append(el('h1', {}, 'Query'),
    el('div', { class: 'card' }, el('div', { class: 'row' }, editor, runBtn), tabs, controls, info, messages, output));

  attachCompletion(input, editor, () => run());
  rangeInput.addEventListener('change', () => run());
  endInput.addEventListener('change', () => { state.end = endInput.value ? new Date(endInput.value).toISOString() : ''; run(); });
  stepInput.addEventListener('change', () => run());
  stackedBox.addEventListener('change', () => run());

  async function run() {
    state.expr = input.value.trim();
    state.range = rangeInput.value.trim() || '1h';
    state.step = stepInput.value.trim();
    state.stacked = stackedBox.checked;
    controls.querySelectorAll('.graph-only').forEach((n) => { n.hidden = state.tab !== 'graph'; });
    writeState(state);
    if (chart) { chart.destroy(); chart = null; }
    fill(messages); fill(output); fill(info);
    if (!state.expr) { fill(output, examples((e) => { input.value = e; run(); })); return; }
    if (abort) abort.abort();
    abort = new AbortController();
    const started = performance.now();
    try {
      if (state.tab === 'graph') await runGraph(abort.signal, started);
      else await runTable(abort.signal, started);
    } catch (e) {
      if (e.name === 'AbortError') return;
      fill(messages, el('div', { class: 'error', id: 'query-error' }, `${e.errorType ? e.errorType + ': ' : ''}${e.message}`));
    }
  }

  function showWarnings(warnings) {
    for (const w of warnings) messages.append(el('div', { class: 'warning' }, `warning: ${w}`));
  }

  async function runGraph(signal, started) {
    const end = endSec(state);
    const range = rangeSec();
    let step = state.step ? parseDuration(state.step) : autoStep(range);
    if (!(step > 0)) throw Object.assign(new Error(`step ${JSON.stringify(state.step)} is not a duration (try 15s or 1m)`), { errorType: 'bad_data' });
    step = Math.max(step, range / 11000);
    const { data, warnings } = await api('query_range', { query: state.expr, start: end - range, end, step }, signal);
    showWarnings(warnings);
    const ms = Math.round(performance.now() - started);
    fill(info, `${data.resultType} · ${data.result.length} series · step ${formatDuration(step)} · ${ms} ms`);
    if (data.resultType !== 'matrix') {
      fill(output, el('p', { class: 'muted' }, `result type ${data.resultType} cannot be graphed; use the Table tab`));
      return;
    }
    if (!data.result.length) { fill(output, el('p', { class: 'muted', id: 'empty-result' }, 'Empty query result.')); return; }
    // Native histograms: a heatmap per series (up to four), floats drawn as lines below.
    const native = data.result.filter((s) => s.histograms && s.histograms.length).slice(0, 4);
    const heatmaps = native.map((s) => {
      const box = el('div', { class: 'native-heatmap' }, el('div', { class: 'mono muted' }, formatSeries(s.metric)));
      output.append(box);
      return heatmapChart(box, [s], { height: 260, range: [end - range, end] });
    });
    const floats = data.result.filter((s) => s.values && s.values.length);
    if (!floats.length) { chart = { destroy() { heatmaps.forEach((h) => h.destroy()); } }; return; }
    let shown = floats;
    if (shown.length > MAX_SERIES) {
      messages.append(el('div', { class: 'warning' }, `showing ${MAX_SERIES} of ${shown.length} series; narrow the query to see the rest`));
      shown = shown.slice(0, MAX_SERIES);
    }
    const lines = timeChart(output, shown, {
      stacked: state.stacked,
      height: 360,
      range: [end - range, end],
      onZoom: (a, b) => {
        state.end = new Date(b * 1000).toISOString();
        endInput.value = toLocalInput(b);
        rangeInput.value = formatDuration(Math.max(1, b - a));
        run();
      },
    });
    chart = { destroy() { lines.destroy(); heatmaps.forEach((h) => h.destroy()); } };
  }

  async function runTable(signal, started) {
    const time = state.end ? endSec(state) : undefined;
    const { data, warnings } = await api('query', { query: state.expr, time }, signal);
    showWarnings(warnings);
    const ms = Math.round(performance.now() - started);
    const n = Array.isArray(data.result) ? data.result.length : 1;
    fill(info, `${data.resultType} · ${n} result${n === 1 ? '' : 's'} · ${ms} ms`);
    fill(output, resultTable(data));
  }

  if (state.expr) run(); else fill(output, examples((e) => { input.value = e; run(); }));
  input.focus();
  return () => { if (abort) abort.abort(); if (chart) chart.destroy(); };
}

const EXAMPLES = [
  'beacon_head_slot',
  'max(beacon_head_slot) - beacon_head_slot',
  'beacon_head_slot / 32 - beacon_finalized_epoch',
  'rate(beacon_reorgs_total[15m])',
  'sum by (job) (up)',
  'topk(10, count by (__name__) ({__name__=~".+"}))',
];

/** Clickable example expressions for an empty explorer. */
function examples(onPick) {
  return el('div', { class: 'examples' }, el('p', { class: 'muted' }, 'Enter an expression and press Execute, or try one of these:'),
    el('ul', {}, EXAMPLES.map((e) => el('li', {}, el('a', { href: '#', class: 'mono', onclick: (ev) => { ev.preventDefault(); onPick(e); } }, e)))));
}

/** A table for any instant-query result. */
export function resultTable(data) {
  const t = data.resultType;
  if (t === 'scalar' || t === 'string') {
    return table(['type', 'value'], [el('tr', {}, el('td', {}, t), el('td', { class: 'num' }, String(data.result[1])))], { id: 'result-table' });
  }
  if (!data.result.length) return el('p', { class: 'muted', id: 'empty-result' }, 'Empty query result.');
  const rows = data.result.slice(0, MAX_ROWS);
  const more = data.result.length > MAX_ROWS ? el('div', { class: 'warning' }, `showing ${MAX_ROWS} of ${data.result.length} results`) : null;
  if (t === 'vector') {
    return [more, table(['series', 'value'], rows.map((s) => el('tr', {},
      el('td', { class: 'mono' }, formatSeries(s.metric)),
      el('td', { class: 'num' }, s.value ? s.value[1] : (s.histogram ? histogramBars(s.histogram) : '')))), { id: 'result-table' })];
  }
  return [more, table(['series', 'values'], rows.map((s) => el('tr', {},
    el('td', { class: 'mono' }, formatSeries(s.metric)),
    el('td', { class: 'mono' }, [
      ...(s.values || []).map(([ts, v]) => el('div', {}, `${v} @${ts}`)),
      ...(s.histograms || []).map(([ts, h]) => el('div', {}, `{count ${h.count}, sum ${h.sum}, ${(h.buckets || []).length} buckets} @${ts}`)),
    ]))), { id: 'result-table' })];
}
