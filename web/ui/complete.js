// PromQL completion: metric names, functions, label names and label values from the API.
import { api } from './api.js';
import { el } from './dom.js';

const FUNCTIONS = ('abs absent absent_over_time avg_over_time ceil changes clamp clamp_max clamp_min count_over_time ' +
  'day_of_month day_of_week day_of_year days_in_month delta deriv exp floor histogram_avg histogram_count histogram_fraction ' +
  'histogram_quantile histogram_stddev histogram_stdvar histogram_sum hour idelta increase irate label_join label_replace ' +
  'last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month predict_linear present_over_time ' +
  'quantile_over_time rate resets round scalar sgn sort sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time time ' +
  'timestamp vector year').split(' ');
const AGGREGATIONS = 'sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio'.split(' ');
const KEYWORDS = 'by without on ignoring group_left group_right offset bool and or unless'.split(' ');
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*$/;

/**
 * What to complete at `pos` in `text`: {kind: 'metric'|'label'|'value'|null, prefix, start, label, metric}.
 * `start` is where the replaced word begins.
 */
export function completionContext(text, pos) {
  const before = text.slice(0, pos);
  let brace = -1; let quote = null; let qStart = -1; const parens = [];
  for (let i = 0; i < before.length; i++) {
    const c = before[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') { quote = c; qStart = i; } else if (c === '{') brace = i;
    else if (c === '}') brace = -1;
    else if (c === '(') parens.push(i);
    else if (c === ')') parens.pop();
  }
  const metricBefore = (i) => (before.slice(0, i).match(/([a-zA-Z_:][\w:]*)\s*$/) || [])[1] || null;
  if (quote) {
    if (brace < 0) return { kind: null };
    const m = before.slice(brace + 1, qStart).match(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*$/);
    if (!m) return { kind: null };
    return { kind: 'value', label: m[1], metric: metricBefore(brace), prefix: before.slice(qStart + 1), start: qStart + 1 };
  }
  if (brace >= 0) {
    const w = before.match(/[a-zA-Z_]\w*$/);
    const word = w ? w[0] : '';
    const lead = before.slice(brace + 1, pos - word.length).trimEnd();
    if (lead === '' || lead.endsWith(',')) {
      return { kind: 'label', metric: metricBefore(brace), prefix: word, start: pos - word.length };
    }
    return { kind: null };
  }
  if (parens.length && GROUPING.test(before.slice(0, parens[parens.length - 1]))) {
    const w = before.match(/[a-zA-Z_]\w*$/);
    const word = w ? w[0] : '';
    const lead = before.slice(parens[parens.length - 1] + 1, pos - word.length).trimEnd();
    if (lead === '' || lead.endsWith(',')) return { kind: 'label', metric: null, prefix: word, start: pos - word.length };
  }
  const w = before.match(/[a-zA-Z_:][\w:]*$/);
  if (!w) return { kind: null };
  // not after a duration bracket or a number
  if (/[\d.]$/.test(before.slice(0, pos - w[0].length))) return { kind: null };
  return { kind: 'metric', prefix: w[0], start: pos - w[0].length };
}

/** Ranks candidates: prefix matches first, then substring matches; at most `limit`. */
export function rank(candidates, prefix, limit = 60) {
  const p = prefix.toLowerCase();
  const starts = []; const contains = [];
  for (const c of candidates) {
    const l = c.text.toLowerCase();
    if (l === p) continue;
    if (l.startsWith(p)) starts.push(c);
    else if (p && l.includes(p)) contains.push(c);
  }
  return [...starts, ...contains].slice(0, limit);
}

/** Caches API look-ups for completion (refreshed after a minute). */
class Source {
  constructor() { this.cache = new Map(); }
  async get(key, load) {
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < 60000) return hit.value;
    const value = await load().catch(() => []);
    this.cache.set(key, { at: Date.now(), value });
    return value;
  }
  metrics() { return this.get('__name__', async () => (await api('label/__name__/values')).data || []); }
  labels(metric) {
    const params = metric ? { 'match[]': metric } : {};
    return this.get(`labels:${metric}`, async () => (await api('labels', params)).data || []);
  }
  values(label, metric) {
    const params = metric ? { 'match[]': metric } : {};
    return this.get(`values:${label}:${metric}`, async () => (await api(`label/${encodeURIComponent(label)}/values`, params)).data || []);
  }
}

/** Candidates for a context, each {text, kind}. */
export async function candidates(ctx, source) {
  switch (ctx.kind) {
    case 'metric': {
      const metrics = (await source.metrics()).map((t) => ({ text: t, kind: 'metric' }));
      return [...metrics, ...AGGREGATIONS.map((t) => ({ text: t, kind: 'aggregation' })),
        ...FUNCTIONS.map((t) => ({ text: t, kind: 'function' })), ...KEYWORDS.map((t) => ({ text: t, kind: 'keyword' }))];
    }
    case 'label': return (await source.labels(ctx.metric)).filter((l) => l !== '__name__').map((t) => ({ text: t, kind: 'label' }));
    case 'value': return (await source.values(ctx.label, ctx.metric)).map((t) => ({ text: t, kind: 'value' }));
    default: return [];
  }
}

/**
 * Attaches completion to a textarea. `onSubmit` runs on Enter (Shift+Enter inserts a newline).
 * The list is appended to `host`, which must be positioned.
 */
export function attachCompletion(input, host, onSubmit) {
  const source = new Source();
  const list = el('ul', { class: 'completions', role: 'listbox', hidden: true });
  host.append(list);
  let items = []; let sel = 0; let ctx = null; let seq = 0;

  const close = () => { list.hidden = true; items = []; };
  const draw = () => {
    list.replaceChildren(...items.map((c, i) => el('li', {
      class: i === sel ? 'sel' : '', role: 'option', 'data-value': c.text,
      onmousedown: (e) => { e.preventDefault(); accept(i); },
    }, el('span', {}, c.text), el('span', { class: 'kind' }, c.kind))));
    list.hidden = items.length === 0;
    const s = list.children[sel];
    if (s && s.scrollIntoView) s.scrollIntoView({ block: 'nearest' });
  };
  const accept = (i) => {
    const c = items[i];
    if (!c || !ctx) return;
    const pos = input.selectionStart;
    let insert = c.text;
    if (c.kind === 'value') insert = c.text.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    if ((c.kind === 'function' || c.kind === 'aggregation') && input.value[pos] !== '(') insert += '(';
    let after = input.value.slice(pos);
    // replace the rest of the word being completed too
    const rest = after.match(c.kind === 'value' ? /^[^"']*/ : /^[\w:]*/);
    if (rest) after = after.slice(rest[0].length);
    if (c.kind === 'value' && !/^["'`]/.test(after)) insert += input.value[ctx.start - 1] || '"';
    input.value = input.value.slice(0, ctx.start) + insert + after;
    const caret = ctx.start + insert.length;
    input.setSelectionRange(caret, caret);
    close();
    input.dispatchEvent(new Event('change'));
    input.focus();
  };
  const update = async () => {
    const my = ++seq;
    ctx = completionContext(input.value, input.selectionStart);
    if (!ctx.kind) { close(); return; }
    const all = await candidates(ctx, source);
    if (my !== seq) return;
    items = rank(all, ctx.prefix);
    sel = 0;
    draw();
  };
  input.addEventListener('input', update);
  input.addEventListener('blur', () => setTimeout(close, 150));
  input.addEventListener('keydown', (e) => {
    const open = !list.hidden && items.length > 0;
    if (open && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
      e.preventDefault();
      sel = (sel + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      draw();
    } else if (open && (e.key === 'Tab' || e.key === 'Enter')) {
      e.preventDefault();
      accept(sel);
    } else if (open && e.key === 'Escape') {
      close();
    } else if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      close();
      onSubmit();
    } else if (e.key === ' ' && e.ctrlKey) {
      e.preventDefault();
      update();
    }
  });
  return { close, source };
}
