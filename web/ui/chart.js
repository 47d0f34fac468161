// Time-series charts on the vendored uPlot (window.uPlot, loaded by index.html as a classic script).
import { el } from './dom.js';
import { formatValue, legendFor } from './api.js';

const PALETTE = ['#2d6cdf', '#e8a33d', '#1a7f37', '#c62828', '#7b3fbf', '#00838f', '#d81b60', '#6d4c41', '#546e7a', '#9e9d24',
  '#3949ab', '#f4511e', '#43a047', '#8e24aa', '#039be5'];

/** The colour of the i-th series. */
export const colour = (i) => PALETTE[i % PALETTE.length];

/** Formats a value with a unit: 's' seconds, 'bytes', 'percent' (0-1), 'ops' (per second), or none. */
export function withUnit(v, unit) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  switch (unit) {
    case 's': return Math.abs(v) < 1 && v !== 0 ? `${formatValue(v * 1000)} ms` : `${formatValue(v)} s`;
    case 'bytes': {
      const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let i = 0; let x = v;
      while (Math.abs(x) >= 1024 && i < u.length - 1) { x /= 1024; i++; }
      return `${formatValue(Number(x.toFixed(2)))} ${u[i]}`;
    }
    case 'percent': return `${formatValue(Number((v * 100).toFixed(2)))}%`;
    case 'ops': return `${formatValue(v)}/s`;
    default: return formatValue(v);
  }
}

/** Turns an API matrix into uPlot's column data: [times, ...series], null where a series has no point. */
export function alignMatrix(result) {
  const times = new Set();
  for (const s of result) for (const [t] of s.values || []) times.add(Number(t));
  const xs = [...times].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const cols = result.map((s) => {
    const col = new Array(xs.length).fill(null);
    for (const [t, v] of s.values || []) {
      const n = Number(v);
      col[index.get(Number(t))] = Number.isFinite(n) ? n : null;
    }
    return col;
  });
  return [xs, ...cols];
}

/**
 * The y range for data in [lo, hi]: close around the data (so a slowly moving counter such as an
 * epoch number shows its steps), from zero for stacked or bar charts of non-negative data.
 */
export function yRange(lo, hi, fromZero) {
  if (lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (fromZero && lo >= 0) return [0, hi > 0 ? hi * 1.05 : 1];
  if (lo === hi) {
    const d = lo === 0 || Math.abs(lo) >= 1 ? 1 : Math.abs(lo) / 2;
    return [lo - d, hi + d];
  }
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}

/** The last non-null value of a column, or null. */
function lastOf(col) {
  for (let i = col.length - 1; i >= 0; i--) if (col[i] !== null) return col[i];
  return null;
}

/** Cumulative sums of the series columns (for stacking); a missing point counts as 0 once any series has data there. */
export function stack(cols) {
  const out = [];
  let acc = null;
  for (const col of cols) {
    const next = col.map((v, i) => {
      const below = acc ? acc[i] : null;
      if (v === null) return below;
      return (below ?? 0) + v;
    });
    out.push(next);
    acc = next;
  }
  return out;
}

/**
 * Draws `result` (a matrix from query_range) into `container`.
 * opts: {legend: format, unit, stacked, style: 'line'|'points'|'bars', height, range: [startSec, endSec],
 * onZoom(startSec, endSec)}.
 * Returns {destroy()}.
 */
export function timeChart(container, result, opts = {}) {
  const U = window.uPlot;
  if (!U) {
    container.append(el('p', { class: 'error' }, 'chart library failed to load'));
    return { destroy() {} };
  }
  const aligned = alignMatrix(result);
  let raw = aligned.slice(1);
  const drawn = opts.stacked ? stack(raw) : raw;
  const labels = (r) => r.map((s) => s.legend ?? legendFor(opts.legend, s.metric)).join('\n');
  const key = labels(result);
  const style = opts.style || 'line';
  let xRange = opts.range || null; // [startSec, endSec]: the queried window, so the x axis shows all of it
  const series = [{ label: 'time' }];
  result.forEach((s, i) => {
    const c = colour(i);
    const one = {
      label: s.legend ?? legendFor(opts.legend, s.metric),
      stroke: c,
      width: 1.5,
      spanGaps: false,
      // hovering shows the value under the cursor; otherwise the series' last value
      value: (u, v, si, idx) => withUnit(idx === null || idx === undefined ? lastOf(raw[si - 1]) : raw[si - 1][idx], opts.unit),
      points: { show: style === 'points', size: 7, fill: c },
    };
    if (opts.stacked) one.fill = c + '40';
    if (style === 'points') one.paths = () => null;
    if (style === 'bars' && U.paths && U.paths.bars) { one.paths = U.paths.bars({ size: [0.6, 40] }); one.fill = c + 'a0'; }
    series.push(one);
  });
  const bands = [];
  if (opts.stacked) for (let i = 2; i < series.length; i++) bands.push({ series: [i, i - 1] });
  const width = Math.max(300, container.clientWidth || 600);
  const uopts = {
    width,
    height: opts.height || 260,
    series,
    bands,
    legend: { show: opts.showLegend !== false, live: true },
    cursor: { drag: { x: true, y: false, setScale: !opts.onZoom } },
    scales: {
      x: { time: true, ...(xRange ? { range: (u, lo, hi) => (xRange ? [xRange[0], xRange[1]] : [lo, hi]) } : {}) },
      y: { range: (u, lo, hi) => yRange(lo, hi, opts.stacked || style === 'bars') },
    },
    axes: [{}, {
      values: (u, vals) => vals.map((v) => withUnit(v, opts.unit)),
      size: (u, values) => (values ? Math.max(40, 14 + 7 * Math.max(...values.map((v) => String(v).length))) : 50),
    }],
    hooks: {
      setSelect: [(u) => {
        if (!opts.onZoom || u.select.width < 5) return;
        const a = u.posToVal(u.select.left, 'x');
        const b = u.posToVal(u.select.left + u.select.width, 'x');
        u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        opts.onZoom(a, b);
      }],
    },
  };
  const wrap = el('div', { class: 'chart' });
  container.append(wrap);
  const plot = new U(uopts, [aligned[0], ...drawn], wrap);
  const ro = new ResizeObserver(() => {
    const w = container.clientWidth;
    if (w > 0 && Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height: uopts.height });
  });
  ro.observe(container);
  return {
    plot,
    destroy() { ro.disconnect(); plot.destroy(); },
    /** Redraws with new data when the series are the same ones; false when a new chart is needed. */
    update(next, range) {
      if (labels(next) !== key) return false;
      if (range) xRange = range;
      const a = alignMatrix(next);
      raw = a.slice(1);
      plot.setData([a[0], ...(opts.stacked ? stack(raw) : raw)]);
      return true;
    },
  };
}

/** The upper bound of a bucket series (`le` label) as a number; NaN when absent. */
const leOf = (s) => (s.metric.le === '+Inf' ? Infinity : Number(s.metric.le));

/**
 * Native histogram series of a matrix (`histograms: [[t, {count, sum, buckets}]]`, buckets as
 * `[boundary_rule, lower, upper, count]`) as cumulative bucket series `{metric: {le}, values}`
 * like a classic histogram's, so the heatmap draws both the same way. Several native series
 * are added up bucket by bucket (as `sum` would).
 */
export function nativeToBuckets(result) {
  const byTime = new Map();
  const bounds = new Set();
  for (const s of result) {
    for (const [t, h] of s.histograms || []) {
      const m = byTime.get(Number(t)) || new Map();
      for (const [, , upper, count] of h.buckets || []) {
        const u = Number(upper);
        bounds.add(u);
        m.set(u, (m.get(u) || 0) + Number(count));
      }
      byTime.set(Number(t), m);
    }
  }
  const les = [...bounds].sort((a, b) => a - b);
  const times = [...byTime.keys()].sort((a, b) => a - b);
  return les.map((le) => ({
    metric: { le: le === Infinity ? '+Inf' : String(le) },
    values: times.map((t) => {
      let cum = 0;
      for (const [u, c] of byTime.get(t)) if (u <= le) cum += c;
      return [t, String(cum)];
    }),
  }));
}

/** Whether a query result holds native histograms. */
export const hasNative = (result) => result.some((s) => (s.histograms && s.histograms.length) || s.histogram);

/**
 * Draws histogram buckets over time as a heatmap: `result` holds one cumulative bucket series per `le`
 * (e.g. `sum by (le) (rate(x_bucket[5m]))`) or native histogram series (e.g. `sum(rate(x[5m]))`,
 * whose buckets are used when no classic ones are present); each cell is the share of
 * observations in that bucket.
 * opts: {height, range: [startSec, endSec], unit}. Returns {destroy(), update() -> false}.
 */
export function heatmapChart(container, result, opts = {}) {
  const classic = result.filter((s) => s.metric && s.metric.le !== undefined);
  const source = classic.length || !hasNative(result) ? classic : nativeToBuckets(result);
  const buckets = source.filter((s) => !Number.isNaN(leOf(s))).sort((a, b) => leOf(a) - leOf(b));
  const [xs, ...cum] = alignMatrix(buckets);
  const les = buckets.map(leOf);
  const cells = cum.map((col, j) => col.map((v, i) => {
    if (v === null) return null;
    const below = j > 0 ? cum[j - 1][i] ?? 0 : 0;
    return Math.max(0, v - below);
  }));
  let max = 0;
  for (const col of cells) for (const v of col) if (v !== null && v > max) max = v;
  const height = opts.height || 220;
  const width = Math.max(300, container.clientWidth || 600);
  const left = 70; const bottom = 22;
  const canvas = el('canvas', { width, height, class: 'heatmap' });
  const info = el('div', { class: 'muted heat-info' }, ' ');
  container.append(canvas, info);
  const ctx = canvas.getContext('2d');
  const [t0, t1] = opts.range || [xs[0], xs[xs.length - 1]];
  const span = Math.max(1, t1 - t0);
  const plotW = width - left - 4; const plotH = height - bottom;
  const rowH = plotH / Math.max(1, les.length);
  const step = xs.length > 1 ? xs[1] - xs[0] : span;
  const cellW = Math.max(1, (step / span) * plotW);
  const xPos = (t) => left + ((t - t0) / span) * plotW;
  const bound = (le) => (le === Infinity ? '+Inf' : withUnit(le, opts.unit));
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#667085';
  ctx.textBaseline = 'middle';
  les.forEach((le, j) => {
    const y = plotH - (j + 0.5) * rowH;
    ctx.fillText(`≤ ${bound(le)}`, 2, y, left - 6);
  });
  ctx.textBaseline = 'alphabetic';
  for (const t of [t0, t0 + span / 2, t1]) {
    const label = new Date(t * 1000).toLocaleTimeString();
    const x = Math.min(Math.max(xPos(t) - 25, left), width - 60);
    ctx.fillText(label, x, height - 6);
  }
  cells.forEach((col, j) => col.forEach((v, i) => {
    if (v === null || max === 0) return;
    const a = v / max;
    ctx.fillStyle = `rgba(45, 108, 223, ${0.08 + 0.92 * a})`;
    ctx.fillRect(xPos(xs[i]) - cellW / 2, plotH - (j + 1) * rowH, cellW, rowH - 1);
  }));
  canvas.addEventListener('mousemove', (e) => {
    const r = canvas.getBoundingClientRect();
    const x = e.clientX - r.left; const y = e.clientY - r.top;
    const j = Math.floor((plotH - y) / rowH);
    const i = xs.findIndex((t) => Math.abs(xPos(t) - x) <= cellW / 2);
    if (j < 0 || j >= les.length || i < 0) { info.textContent = ' '; return; }
    const lo = j > 0 ? bound(les[j - 1]) : '0';
    const v = cells[j][i];
    info.textContent = `${new Date(xs[i] * 1000).toLocaleTimeString()} · ${lo} – ${bound(les[j])}: ${v === null ? 'no data' : formatValue(Number(v.toPrecision(4)))}/s`;
  });
  return { destroy() { canvas.remove(); info.remove(); }, update() { return false; } };
}

/**
 * An instant native histogram (`[t, {count, sum, buckets}]`) as horizontal bars, one per
 * bucket with its bounds and count.
 */
export function histogramBars(point, unit) {
  const h = point[1] || {};
  const buckets = (h.buckets || []).filter((b) => Number(b[3]) > 0);
  const max = Math.max(0, ...buckets.map((b) => Number(b[3])));
  const open = ['(', '[', '(', '['];
  const close = [']', ')', ')', ']'];
  return el('div', { class: 'hist-bars' },
    el('div', { class: 'muted' }, `count ${formatValue(h.count)} · sum ${formatValue(h.sum)}`),
    buckets.map(([rule, lo, hi, count]) => el('div', { class: 'hist-bar' },
      el('span', { class: 'hist-range mono' }, `${open[rule] || '('}${withUnit(Number(lo), unit)}, ${withUnit(Number(hi), unit)}${close[rule] || ']'}`),
      el('span', { class: 'hist-fill', style: `width:${max > 0 ? (100 * Number(count)) / max : 0}%` }),
      el('span', { class: 'num' }, formatValue(count)))));
}
