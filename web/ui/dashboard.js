// Dashboards drawn from their definition (beacon.js, sextant.js): node selector, time range, auto-refresh,
// panels that explain missing data, and the spec conformance table.
import { api, autoStep, formatDuration, formatValue, legendFor, parseDuration } from './api.js';
import { BEACON, MINIMAL, NETWORKS, PROPOSED, allMetrics, allPanels } from './beacon.js';
import { SEXTANT } from './sextant.js';
import { heatmapChart, timeChart, withUnit } from './chart.js';
import { el, fill, table } from './dom.js';
import { toGrafana } from './grafana.js';
import { expand, nodeKey, nodeName, queriesFor, regexEscape, typeOf, whyMissing } from './nodes.js';

const DASHBOARDS = { beacon: BEACON, sextant: SEXTANT };
const RANGES = ['15m', '30m', '1h', '3h', '6h', '12h', '1d', '2d', '7d'];
const REFRESH = ['off', '5s', '10s', '30s', '1m', '5m'];
const ALL = '.+';

/** 'bad', 'warn' or '' for a stat value against the panel's thresholds. */
function level(p, v) {
  const t = p.thresholds;
  if (!t) return '';
  if (t.below) return v <= t.bad ? 'bad' : v <= t.warn ? 'warn' : '';
  return v >= t.bad ? 'bad' : v >= t.warn ? 'warn' : '';
}

function readState() {
  const q = new URLSearchParams(location.search);
  const network = NETWORKS[q.get('network')] ? q.get('network') : (q.get('network') === 'custom' ? 'custom' : 'mainnet');
  const preset = NETWORKS[network] || NETWORKS.mainnet;
  const num = (k, d) => (Number.isFinite(Number(q.get(k))) && q.get(k) !== null && q.get(k) !== '' ? Number(q.get(k)) : d);
  return {
    job: q.get('job') || '',
    instance: q.get('instance') || '',
    range: parseDuration(q.get('range')) > 0 ? q.get('range') : '1h',
    end: Number(q.get('end')) > 0 ? Number(q.get('end')) : null,
    refresh: REFRESH.includes(q.get('refresh')) ? q.get('refresh') : '30s',
    network,
    seconds_per_slot: num('sps', preset.seconds_per_slot),
    slots_per_epoch: num('spe', preset.slots_per_epoch),
    genesis_time: num('genesis', preset.genesis_time),
    showHidden: q.get('hidden') === '1',
  };
}

function writeState(s) {
  const q = new URLSearchParams();
  if (s.job) q.set('job', s.job);
  if (s.instance) q.set('instance', s.instance);
  q.set('range', s.range);
  if (s.end) q.set('end', String(Math.round(s.end)));
  q.set('refresh', s.refresh);
  q.set('network', s.network);
  const preset = NETWORKS[s.network];
  if (!preset || preset.seconds_per_slot !== s.seconds_per_slot) q.set('sps', s.seconds_per_slot);
  if (!preset || preset.slots_per_epoch !== s.slots_per_epoch) q.set('spe', s.slots_per_epoch);
  if (!preset || preset.genesis_time !== s.genesis_time) q.set('genesis', s.genesis_time);
  if (s.showHidden) q.set('hidden', '1');
  history.replaceState(null, '', `${location.pathname}?${q}`);
}

/** Runs `fns` (functions returning promises) at most `n` at a time. */
async function pool(fns, n) {
  let next = 0;
  const worker = async () => { while (next < fns.length) { const f = fns[next++]; await f(); } };
  await Promise.all(Array.from({ length: Math.min(n, fns.length) }, worker));
}

export function render(root, [name]) {
  const def = DASHBOARDS[name];
  if (!def) {
    root.append(el('div', { class: 'error' }, `No dashboard called ${JSON.stringify(name)}. Known: `,
      Object.keys(DASHBOARDS).map((k) => el('a', { href: `/dashboards/${k}`, 'data-nav': true }, k))));
    return null;
  }
  const state = readState();
  /** What a "node" of this dashboard is, for messages. */
  const noun = def.nodeNoun || 'beacon node';
  /** Whether panels need metric types (typed panels, the conformance table). */
  const needTypes = allPanels(def).some((p) => p.typed || p.type === 'conformance');
  let timer = null; let generation = 0; let running = false;
  let typeCache = { at: 0, value: null };
  const charts = new Map();

  // --- controls
  const jobSel = el('select', { id: 'job' });
  const instSel = el('select', { id: 'instance' });
  const rangeSel = el('select', { id: 'range' }, RANGES.map((r) => el('option', { value: r }, `last ${r}`)));
  if (!RANGES.includes(state.range)) rangeSel.append(el('option', { value: state.range }, `${state.range}`));
  rangeSel.value = state.range;
  const refreshSel = el('select', { id: 'refresh' }, REFRESH.map((r) => el('option', { value: r }, r === 'off' ? 'no auto-refresh' : `every ${r}`)));
  refreshSel.value = state.refresh;
  const netSel = el('select', { id: 'network' }, [...Object.keys(NETWORKS), 'custom'].map((n) => el('option', { value: n }, n)));
  netSel.value = state.network;
  const spsIn = el('input', { id: 'sps', type: 'number', min: 1, size: 4, value: state.seconds_per_slot });
  const speIn = el('input', { id: 'spe', type: 'number', min: 1, size: 4, value: state.slots_per_epoch });
  const genIn = el('input', { id: 'genesis', type: 'number', min: 0, size: 11, value: state.genesis_time });
  const liveBtn = el('button', { id: 'live', hidden: !state.end, onclick: () => { state.end = null; liveBtn.hidden = true; refresh(); } }, 'back to live');
  const hiddenToggle = el('label', { id: 'show-hidden' });
  const updated = el('span', { class: 'muted', id: 'updated' });
  const nodeInfo = el('div', { id: 'node-info', class: 'muted' });
  const download = el('button', {
    id: 'grafana-download',
    onclick: () => {
      const blob = new Blob([JSON.stringify(toGrafana(def), null, 2) + '\n'], { type: 'application/json' });
      const a = el('a', { href: URL.createObjectURL(blob), download: `${name}.json` });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    },
  }, 'Grafana JSON');

  root.append(
    el('div', { class: 'row' }, el('h1', {}, def.title), el('span', { class: 'spacer' }), updated),
    el('div', { class: 'card row', id: 'dash-controls' },
      el('label', {}, 'Job', jobSel), el('label', {}, 'Node', instSel), rangeSel, liveBtn, refreshSel,
      el('button', { onclick: () => refresh() }, 'Refresh'),
      def.network === false ? null : el('details', {}, el('summary', {}, 'Network'), el('div', { class: 'row' },
        netSel, el('label', {}, 's/slot', spsIn), el('label', {}, 'slots/epoch', speIn), el('label', {}, 'genesis', genIn))),
      el('span', { class: 'spacer' }), hiddenToggle, download),
    nodeInfo);
  /** Shown instead of the panels while no node has reported (dashboards with `onboarding`). */
  const onboard = def.onboarding ? el('section', { class: 'card onboarding', id: 'onboarding', hidden: true }) : null;
  if (onboard) root.append(onboard);

  // --- panels
  const views = new Map();
  const rowEls = [];
  for (const row of def.rows) {
    const grid = el('div', { class: 'grid' });
    const rowEl = el('section', { class: 'dash-row' }, el('h2', {}, row.title), grid);
    rowEls.push({ rowEl, panels: row.panels });
    for (const p of row.panels) {
      const body = el('div', { class: 'panel-body' }, el('p', { class: 'muted' }, 'Loading…'));
      const link = el('a', { class: 'explore', 'data-nav': true, href: '/graph', title: 'open this panel\'s query in the explorer' }, 'explore');
      const card = el('div', { class: `panel${p.wide ? ' wide' : ''}${p.type === 'stat' ? ' stat-panel' : ''}`, 'data-panel': p.id },
        el('h3', {}, p.title, p.description ? el('span', { class: 'desc', title: p.description }, p.description) : null,
          el('span', { class: 'spacer' }), p.type === 'conformance' ? null : link), body);
      grid.append(card);
      views.set(p.id, { card, body, link, hidden: false });
    }
    root.append(rowEl);
  }

  // --- events
  const onChange = () => {
    state.job = jobSel.value; state.instance = instSel.value; state.range = rangeSel.value; state.refresh = refreshSel.value;
    state.network = netSel.value;
    state.seconds_per_slot = Number(spsIn.value) || 12; state.slots_per_epoch = Number(speIn.value) || 32;
    state.genesis_time = Number(genIn.value) || 0;
    schedule(); refresh();
  };
  for (const s of [jobSel, instSel, rangeSel, refreshSel, spsIn, speIn, genIn]) s.addEventListener('change', onChange);
  netSel.addEventListener('change', () => {
    const p = NETWORKS[netSel.value];
    if (p) { spsIn.value = p.seconds_per_slot; speIn.value = p.slots_per_epoch; genIn.value = p.genesis_time; }
    onChange();
  });

  function schedule() {
    if (timer) clearInterval(timer);
    timer = null;
    const sec = parseDuration(state.refresh);
    if (sec > 0) timer = setInterval(() => { if (!state.end && !running && !document.hidden) refresh(); }, sec * 1000);
  }

  function setOptions(select, values, current) {
    const opts = [el('option', { value: '' }, 'All'), ...values.map((v) => el('option', { value: v }, v))];
    if (current && !values.includes(current)) opts.push(el('option', { value: current }, `${current} (no data)`));
    select.replaceChildren(...opts);
    select.value = current || '';
  }

  async function loadNodes(start, end) {
    const { data } = await api('series', { 'match[]': `{__name__=~"${def.nodeMetrics.join('|')}"}`, start, end });
    const seen = new Map();
    for (const m of data) if (m.instance !== undefined) seen.set(nodeKey(m), { instance: m.instance, job: m.job ?? '' });
    return [...seen.values()].sort((a, b) => nodeName(a).localeCompare(nodeName(b)));
  }

  async function loadPresence(start, end, vars) {
    const names = [...allMetrics(def), 'beacon_reorgs_created', 'beacon_reorgs_total_created'];
    const { data } = await api('series', { 'match[]': `{__name__=~"${names.join('|')}",job=~"${vars.job}",instance=~"${vars.instance}"}`, start, end });
    const presence = new Map();
    for (const m of data) {
      const k = nodeKey(m);
      if (!presence.has(k)) presence.set(k, new Set());
      presence.get(k).add(m.__name__);
    }
    return presence;
  }

  /** Metric types per node ({perNode: Map(key -> Map(name -> type)), global: Map(name -> Set(type))}), cached 5 min. */
  async function loadTypes() {
    if (typeCache.value && Date.now() - typeCache.at < 300000) return typeCache.value;
    const perNode = new Map(); const global = new Map();
    const jobs = [];
    for (const m of MINIMAL) {
      for (const asked of new Set([m.name, m.name.replace(/_total$/, '')])) {
        jobs.push(async () => {
          try {
            const { data } = await api('targets/metadata', { metric: asked });
            for (const e of data || []) {
              const k = nodeKey(e.target || {});
              if (!perNode.has(k)) perNode.set(k, new Map());
              perNode.get(k).set(m.name, e.type);
            }
          } catch { /* not every server has per-target metadata */ }
          try {
            const { data } = await api('metadata', { metric: asked });
            for (const e of (data && data[asked]) || []) {
              if (!global.has(m.name)) global.set(m.name, new Set());
              global.get(m.name).add(e.type);
            }
          } catch { /* no metadata */ }
        });
      }
    }
    await pool(jobs, 4);
    typeCache = { at: Date.now(), value: { perNode, global } };
    return typeCache.value;
  }

  function nodata(view, p, nodes, presence) {
    const lines = nodes.length
      ? nodes.map((n) => el('li', {}, whyMissing(p, n, presence)))
      : [el('li', {}, `no ${noun} found: no series named ${def.nodeMetrics.join(', ')} — is a ${noun} scraped? See `, el('a', { href: '/targets', 'data-nav': true }, 'Targets'), '.')];
    fill(view.body, el('div', { class: 'nodata' }, el('strong', {}, 'No data. '), el('ul', {}, lines)));
  }

  /** The scrape targets, by job, for the onboarding card. */
  async function targetsTable() {
    try {
      const { data } = await api('targets', { state: 'active' });
      const targets = (data.activeTargets || []).slice().sort((a, b) =>
        `${a.labels?.job}${a.scrapeUrl}`.localeCompare(`${b.labels?.job}${b.scrapeUrl}`));
      if (!targets.length) return el('p', { class: 'warning' }, 'Sextant scrapes nothing: its configuration has no scrape targets.');
      return table(['job', 'endpoint', 'state'], targets.map((t) => el('tr', { 'data-job': t.labels?.job ?? '' },
        el('td', {}, t.labels?.job ?? ''),
        el('td', {}, el('span', { class: 'mono' }, t.scrapeUrl), t.lastError ? el('div', { class: 'target-error' }, t.lastError) : null),
        el('td', {}, el('span', { class: `badge ${t.health || 'unknown'}` }, t.health || 'unknown')))), { class: 'conf', id: 'onboarding-targets' });
    } catch (e) {
      return el('div', { class: 'error' }, `Cannot list the scrape targets: ${e.message}`);
    }
  }

  /** Fills the onboarding card: what is scraped, how to add a node, how to try the demo. */
  async function drawOnboarding() {
    const targets = await targetsTable();
    const config = `scrape_configs:
  - job_name: sextant
    static_configs:
      - targets: ['${location.host}']
  - job_name: beacon
    static_configs:
      - targets: ['127.0.0.1:8008']
`;
    const code = (t) => el('code', {}, t);
    const auto = parseDuration(state.refresh) > 0 ? `This page checks again every ${state.refresh}.` : 'Press Refresh to check again.';
    fill(onboard,
      el('h2', {}, `No ${noun} has reported yet`),
      el('p', {}, `No series named ${def.nodeMetrics.join(', ')} in the last ${state.range}, so the dashboard's panels are hidden; `,
        `they appear as soon as a ${noun} is scraped. ${auto}`),
      el('div', { class: 'onboarding-steps' },
        el('div', {},
          el('h3', {}, 'What Sextant scrapes'),
          targets,
          el('p', { class: 'muted' }, 'A node listed as down is not answering on that address. Details on the ',
            el('a', { href: '/targets', 'data-nav': true }, 'Targets'), ' page.')),
        el('div', {},
          el('h3', {}, `Add a ${noun}`),
          el('p', {}, 'Turn on the node\'s metrics endpoint (the spec\'s default port is 8008; Lighthouse serves on 5054 with ',
            code('--metrics'), ', Prysm on 8080) and list its ', code('host:port'), ' in a ', code('prometheus.yml'), ':'),
          el('pre', { class: 'yaml', id: 'onboarding-config' }, config),
          el('p', {}, 'and start Sextant with it: ', code('sextant --config.file=prometheus.yml'),
            ' (a running Sextant re-reads the file on SIGHUP).')),
        el('div', {},
          el('h3', {}, 'Or try it with simulated nodes'),
          el('p', {}, code('sextant --demo'), ' (from a checkout: ', code('cargo run --release -- --demo'),
            ') also runs four simulated beacon nodes inside Sextant and scrapes them; this dashboard fills within a minute.'))));
  }

  async function drawPanel(p, ctx) {
    const view = views.get(p.id);
    if (p.type === 'conformance') { drawConformance(view, ctx); return; }
    if (p.type === 'table') { await drawNodeTable(p, view, ctx); return; }
    const exposedAnywhere = ctx.nodes.some((n) => (p.metrics || []).some((m) => (ctx.presence.get(nodeKey(n)) || new Set()).has(m)));
    if (!p.minimal && !exposedAnywhere && ctx.presenceKnown) {
      // no node exposes what this panel reads: hide it without asking the server
      if (charts.has(p.id)) { charts.get(p.id).destroy(); charts.delete(p.id); }
      view.hidden = true;
      view.card.hidden = !state.showHidden;
      view.card.classList.remove('has-data');
      nodata(view, p, ctx.nodes, ctx.presence);
      return;
    }
    const queries = queriesFor(p, ctx.nodes, ctx.types, ctx.presence);
    const explore = new URLSearchParams({ expr: expand(queries[0].expr, ctx.vars), tab: p.type === 'stat' ? 'table' : 'graph', range: state.range });
    if (state.end) explore.set('end', new Date(state.end * 1000).toISOString());
    view.link.setAttribute('href', `/graph?${explore}`);
    const results = []; const errors = [];
    await Promise.all(queries.map(async (qq) => {
      const expr = expand(qq.expr, ctx.vars);
      try {
        const { data } = p.type === 'stat'
          ? await api('query', { query: expr, time: ctx.end })
          : await api('query_range', { query: expr, start: ctx.start, end: ctx.end, step: ctx.step });
        const list = Array.isArray(data.result) && data.resultType !== 'scalar' ? data.result : [{ metric: {}, value: data.result }];
        for (const s of list) results.push({ ...s, legend: legendFor(qq.legend, s.metric) });
      } catch (e) {
        errors.push(el('div', { class: 'error' }, `${e.message}`, el('div', { class: 'mono muted' }, expr)));
      }
    }));
    if (ctx.gen !== generation) return;
    const withData = results.filter((s) => (s.values && s.values.length > 0) || (s.histograms && s.histograms.length > 0)
      || !!s.value || !!s.histogram);
    const old = charts.get(p.id);
    if (old && !errors.length && p.type === 'timeseries' && withData.length && old.update(withData, [ctx.start, ctx.end])) {
      view.body.querySelectorAll('.missing').forEach((n) => n.remove());
      appendMissing(p, view, withData, ctx);
      return;
    }
    if (old) { old.destroy(); charts.delete(p.id); }
    view.hidden = !p.minimal && !withData.length && !errors.length && !exposedAnywhere;
    view.card.hidden = view.hidden && !state.showHidden;
    view.card.classList.toggle('has-data', withData.length > 0);
    if (errors.length && !withData.length) { fill(view.body, errors); return; }
    if (!withData.length) { nodata(view, p, ctx.nodes, ctx.presence); return; }
    fill(view.body, errors);
    if (p.type === 'stat') {
      view.body.append(el('div', { class: 'stats' }, withData.map((s) => el('div', { class: 'stat' },
        el('div', { class: `value ${level(p, Number(s.value[1]))}` }, p.unit ? withUnit(Number(s.value[1]), p.unit) : formatValue(s.value[1])),
        el('div', { class: 'who' }, s.legend)))));
    } else if (p.type === 'heatmap') {
      const box = el('div', {});
      view.body.append(box);
      charts.set(p.id, heatmapChart(box, withData, { unit: p.unit, height: 220, range: [ctx.start, ctx.end] }));
    } else {
      const box = el('div', {});
      view.body.append(box);
      charts.set(p.id, timeChart(box, withData, {
        unit: p.unit, stacked: p.stacked, style: p.style, height: 220, range: [ctx.start, ctx.end],
        onZoom: (a, b) => {
          state.end = b;
          state.range = formatDuration(Math.max(60, b - a));
          if (![...rangeSel.options].some((o) => o.value === state.range)) rangeSel.append(el('option', { value: state.range }, state.range));
          rangeSel.value = state.range;
          liveBtn.hidden = false;
          refresh();
        },
      }));
    }
    appendMissing(p, view, withData, ctx);
  }

  /** Notes, under a panel with data, the selected nodes that have no series in it and why. */
  function appendMissing(p, view, withData, ctx) {
    if (p.aggregate) return;
    const got = new Set(withData.map((s) => nodeKey(s.metric)));
    const missing = ctx.nodes.filter((n) => !got.has(nodeKey(n)));
    if (missing.length) view.body.append(el('div', { class: 'missing' }, missing.map((n) => el('div', {}, `No series: ${whyMissing(p, n, ctx.presence)}`))));
  }

  /** One row per node, one column per query (instant, at the end of the range). */
  async function drawNodeTable(p, view, ctx) {
    const explore = new URLSearchParams({ expr: expand(p.queries[0].expr, ctx.vars), tab: 'table' });
    view.link.setAttribute('href', `/graph?${explore}`);
    const columns = await Promise.all(p.queries.map(async (qq) => {
      try {
        const { data } = await api('query', { query: expand(qq.expr, ctx.vars), time: ctx.end });
        return { qq, values: new Map(data.result.map((s) => [nodeKey(s.metric), Number(s.value[1])])) };
      } catch (e) {
        return { qq, error: e.message, values: new Map() };
      }
    }));
    if (ctx.gen !== generation) return;
    const keys = new Map(ctx.nodes.map((n) => [nodeKey(n), n]));
    const withData = ctx.nodes.filter((n) => columns.some((c) => c.values.has(nodeKey(n))));
    view.card.classList.toggle('has-data', withData.length > 0);
    if (!withData.length) { nodata(view, p, ctx.nodes, ctx.presence); return; }
    const rows = [...keys.values()].map((n) => el('tr', { 'data-node': nodeName(n) },
      el('td', {}, el('strong', {}, n.instance), el('div', { class: 'muted' }, n.job)),
      columns.map((c) => {
        const v = c.values.get(nodeKey(n));
        return v === undefined
          ? el('td', { class: 'num muted', title: c.error || 'no series for this node' }, '—')
          : el('td', { class: `num ${level(c.qq, v)}` }, formatValue(v));
      })));
    fill(view.body, table(['node', ...columns.map((c) => el('span', { title: c.error || '' }, c.qq.legend))], rows, { class: 'conf nodes', id: 'nodes-table' }),
      columns.filter((c) => c.error).map((c) => el('div', { class: 'error' }, `${c.qq.legend}: ${c.error}`)));
  }

  function drawConformance(view, ctx) {
    view.card.classList.toggle('has-data', ctx.nodes.length > 0);
    if (!ctx.nodes.length) { nodata(view, { metrics: MINIMAL.map((m) => m.name) }, [], ctx.presence); return; }
    const rows = ctx.nodes.map((n) => {
      const k = nodeKey(n);
      const have = ctx.presence.get(k) || new Set();
      let ok = 0;
      const cells = MINIMAL.map((m) => {
        const look = (name) => el('a', { 'data-nav': true, href: `/graph?${new URLSearchParams({ expr: `${name}{instance="${n.instance}",job="${n.job}"}`, tab: 'table' })}` }, name);
        if (!have.has(m.name)) {
          const alt = m.alternatives.filter((a) => have.has(a));
          return el('td', { class: 'bad', 'data-metric': m.name }, '✗ missing', alt.length ? el('div', { class: 'muted' }, 'has ', alt.flatMap((a, i) => (i ? [', ', look(a)] : [look(a)]))) : null);
        }
        const t = typeOf(ctx.types, ctx.presence, k, m.name);
        if (t && t !== m.type) return el('td', { class: 'warn', 'data-metric': m.name }, `⚠ ${t}`, el('div', { class: 'muted' }, `spec: ${m.type}`));
        ok++;
        return el('td', { class: 'ok', 'data-metric': m.name }, `✓ ${t || m.type}`, t ? null : el('div', { class: 'muted' }, 'type not reported'));
      });
      const proposed = PROPOSED.filter((m) => have.has(m) || have.has(`${m}_bucket`));
      return el('tr', { 'data-node': nodeName(n) }, el('td', {}, el('strong', {}, n.instance), el('div', { class: 'muted' }, n.job)),
        el('td', { class: `num ${ok === MINIMAL.length ? 'ok' : 'warn'}` }, `${ok}/${MINIMAL.length}`), cells,
        el('td', { class: 'num proposed', title: proposed.join('\n') || 'none' }, `${proposed.length}/${PROPOSED.length}`));
    });
    const breakable = (name) => name.split('_').flatMap((part, i) => (i ? ['_', el('wbr'), part] : [part]));
    fill(view.body, table(['node', 'minimal', ...MINIMAL.map((m) => el('span', { class: 'mono', title: `spec type: ${m.type}` }, breakable(m.name))),
      el('span', { title: 'proposed metrics of the spec this node exposes (hover a count for the list)' }, 'proposed')], rows, { class: 'conf', id: 'conformance-table' }));
  }

  async function refresh() {
    const gen = ++generation;
    running = true;
    try {
      writeState(state);
      const range = parseDuration(state.range) || 3600;
      const end = state.end || Date.now() / 1000;
      const start = end - range;
      const step = autoStep(range, 240);
      const vars = {
        job: state.job ? regexEscape(state.job) : ALL,
        instance: state.instance ? regexEscape(state.instance) : ALL,
        __interval: formatDuration(step),
        __rate_interval: formatDuration(Math.max(4 * step, 60)),
        __range: formatDuration(range),
        seconds_per_slot: state.seconds_per_slot,
        slots_per_epoch: state.slots_per_epoch,
        genesis_time: state.genesis_time,
      };
      let all = [];
      let listed = false;
      try {
        all = await loadNodes(start, end);
        listed = true;
        fill(nodeInfo);
      } catch (e) {
        fill(nodeInfo, el('div', { class: 'error' }, `Cannot list ${noun}s: ${e.message}`));
      }
      if (gen !== generation) return;
      if (onboard) {
        // no node has reported in the range: one card that says how to get one, not a wall of empty panels
        onboard.hidden = !(listed && all.length === 0);
        if (!onboard.hidden) {
          await drawOnboarding();
          if (gen !== generation) return;
          for (const r of rowEls) r.rowEl.hidden = true;
          fill(hiddenToggle);
          fill(updated, `0 ${noun}s · updated ${new Date().toLocaleTimeString()}`);
          return;
        }
      }
      setOptions(jobSel, [...new Set(all.map((n) => n.job))].sort(), state.job);
      setOptions(instSel, [...new Set(all.filter((n) => !state.job || n.job === state.job).map((n) => n.instance))].sort(), state.instance);
      const nodes = all.filter((n) => (!state.job || n.job === state.job) && (!state.instance || n.instance === state.instance));
      let presenceKnown = true;
      const [presence, types] = await Promise.all([
        loadPresence(start, end, vars).catch(() => { presenceKnown = false; return new Map(); }),
        (needTypes ? loadTypes() : Promise.reject(new Error('not needed'))).catch(() => ({ perNode: new Map(), global: new Map() })),
      ]);
      if (gen !== generation) return;
      const ctx = { gen, nodes, presence, presenceKnown, types, vars, start, end, step };
      await pool(allPanels(def).map((p) => () => drawPanel(p, ctx)), 4);
      if (gen !== generation) return;
      const hidden = [...views.values()].filter((v) => v.hidden).length;
      fill(hiddenToggle, hidden ? [el('input', {
        type: 'checkbox', checked: state.showHidden,
        onchange: (e) => { state.showHidden = e.target.checked; writeState(state); applyHidden(); },
      }), `show ${hidden} panel${hidden === 1 ? '' : 's'} no node has data for`] : []);
      applyHidden();
      fill(updated, `${nodes.length} ${def.network === false ? 'instance' : 'node'}${nodes.length === 1 ? '' : 's'} · updated ${new Date().toLocaleTimeString()}`);
    } finally {
      if (gen === generation) running = false;
    }
  }

  function applyHidden() {
    for (const v of views.values()) v.card.hidden = v.hidden && !state.showHidden;
    for (const r of rowEls) r.rowEl.hidden = r.panels.every((p) => views.get(p.id).card.hidden);
  }

  schedule();
  refresh();
  return () => {
    generation++;
    if (timer) clearInterval(timer);
    for (const c of charts.values()) c.destroy();
  };
}
