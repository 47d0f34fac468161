// Status page: build information, flags, configuration and TSDB cardinality.
import { api, formatValue } from './api.js';
import { el, fill, table } from './dom.js';

function section(title, id) {
  const body = el('div', { id }, el('p', { class: 'muted' }, 'Loading…'));
  return [el('div', { class: 'card' }, el('h2', {}, title), body), body];
}

async function into(body, path, draw) {
  try {
    const { data } = await api(path);
    fill(body, draw(data));
  } catch (e) {
    fill(body, el('div', { class: 'error' }, `${path}: ${e.message}`));
  }
}

const kv = (obj) => table(['name', 'value'], Object.entries(obj || {}).sort(([a], [b]) => a.localeCompare(b))
  .map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', { class: 'mono' }, typeof v === 'object' ? JSON.stringify(v) : String(v)))));

const counts = (title, rows, id, unit = 'count') => el('div', { class: 'card', id },
  el('h3', {}, title),
  rows && rows.length
    ? table(['name', unit], rows.map((r) => el('tr', {}, el('td', { class: 'mono' }, r.name), el('td', { class: 'num' }, formatValue(r.value)))))
    : el('p', { class: 'muted' }, 'none'));

export function render(root) {
  const [build, buildBody] = section('Build information', 'buildinfo');
  const [runtime, runtimeBody] = section('Runtime information', 'runtimeinfo');
  const [tsdb, tsdbBody] = section('TSDB cardinality', 'tsdb');
  const [remote, remoteBody] = section('Remote write', 'remote-write');
  const [flags, flagsBody] = section('Command-line flags', 'flags');
  const [config, configBody] = section('Configuration', 'config');
  root.append(el('h1', {}, 'Status'), build, runtime, remote, tsdb, flags, config);
  into(remoteBody, 'status/remote_write', (queues) => (queues && queues.length
    ? table(['queue', 'url', 'protocol', 'shards', 'desired', 'min', 'max', 'backlog', 'pending', 'sent', 'failed', 'retried', 'dropped', 'exemplars sent / failed / dropped', 'newest sent', 'last error'],
      queues.map((q) => el('tr', {},
        el('td', { class: 'mono' }, q.name), el('td', { class: 'mono' }, q.url),
        el('td', {}, q.protobufMessage.includes('v2') ? '2.0' : '1.0'),
        ...[q.shards, Math.round(q.shardsDesired * 100) / 100, q.minShards, q.maxShards, q.backlogSamples,
          q.samplesPending, q.samplesSent, q.samplesFailed, q.samplesRetried, q.samplesDropped]
          .map((v) => el('td', { class: 'num' }, formatValue(v))),
        el('td', { class: 'num', title: `pending ${q.exemplarsPending}, retried ${q.exemplarsRetried}` },
          [q.exemplarsSent, q.exemplarsFailed, q.exemplarsDropped].map(formatValue).join(' / ')),
        el('td', {}, q.highestSentTimestamp ? new Date(q.highestSentTimestamp).toISOString() : '—'),
        el('td', { class: 'mono' }, q.lastError || ''))))
    : el('p', { class: 'muted' }, 'Nothing is forwarded (no remote_write in the configuration).')));
  into(buildBody, 'status/buildinfo', kv);
  into(runtimeBody, 'status/runtimeinfo', kv);
  into(flagsBody, 'status/flags', kv);
  into(configBody, 'status/config', (d) => el('pre', { class: 'yaml' }, d.yaml || ''));
  into(tsdbBody, 'status/tsdb', (d) => {
    const h = d.headStats || {};
    const time = (ms) => (Number.isFinite(ms) && ms > 0 && ms < 8.64e15 ? new Date(ms).toISOString() : '—');
    return [
      el('div', { class: 'stats' },
        [['Series', h.numSeries], ['Label pairs', h.numLabelPairs], ['Chunks', h.chunkCount], ['Histogram series', h.numHistogramSeries],
          ['Oldest sample', time(h.minTime)], ['Newest sample', time(h.maxTime)]].map(([k, v]) => el('div', { class: 'stat card' },
          el('div', { class: 'who' }, k), el('div', { class: 'value' }, typeof v === 'number' ? formatValue(v) : (v ?? '—'))))),
      el('div', { class: 'grid' },
        counts('Top metrics by series count', d.seriesCountByMetricName, 'series-by-metric'),
        counts('Label names by number of values', d.labelValueCountByLabelName, 'values-by-label'),
        counts('Label pairs by series count', d.seriesCountByLabelValuePair, 'series-by-pair'),
        counts('Label names by memory', d.memoryInBytesByLabelName, 'memory-by-label', 'bytes')),
    ];
  });
}
