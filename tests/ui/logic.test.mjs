// Unit tests of the UI's pure logic (no browser): completion contexts, durations, chart data,
// counter-or-gauge query choice, missing-data explanations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, legendFor, parseDuration } from '../../web/ui/api.js';
import { BEACON, allPanels } from '../../web/ui/beacon.js';
import { alignMatrix, stack, yRange } from '../../web/ui/chart.js';
import { completionContext, rank } from '../../web/ui/complete.js';
import { nodeKey, queriesFor, typeOf, whyMissing } from '../../web/ui/nodes.js';

const ctx = (text, pos = text.length) => completionContext(text, pos);

test('completion context: metric names, label names, label values', () => {
  assert.deepEqual(ctx('beacon_he'), { kind: 'metric', prefix: 'beacon_he', start: 0 });
  assert.equal(ctx('rate(beacon_re').kind, 'metric');
  assert.equal(ctx('rate(beacon_re').start, 5);
  assert.deepEqual(ctx('up{'), { kind: 'label', metric: 'up', prefix: '', start: 3 });
  assert.deepEqual(ctx('up{job="a", ins'), { kind: 'label', metric: 'up', prefix: 'ins', start: 12 });
  assert.deepEqual(ctx('up{job=~"be'), { kind: 'value', label: 'job', metric: 'up', prefix: 'be', start: 9 });
  assert.deepEqual(ctx('{job!="'), { kind: 'value', label: 'job', metric: null, prefix: '', start: 7 });
  assert.equal(ctx('sum by (ins').kind, 'label');
  assert.equal(ctx('sum by (instance, jo').prefix, 'jo');
  assert.equal(ctx('x / on(inst').kind, 'label');
  // inside a finished string, after a value, in a duration: nothing
  assert.equal(ctx('up{job="a" ').kind, null);
  assert.equal(ctx('rate(x[5m').kind, null);
  assert.equal(ctx('"free text').kind, null);
  // cursor in the middle
  assert.deepEqual(ctx('up{jo} + 1', 5), { kind: 'label', metric: 'up', prefix: 'jo', start: 3 });
});

test('completion ranking: prefix matches first, exact match dropped, limit', () => {
  const c = (...t) => t.map((text) => ({ text, kind: 'metric' }));
  assert.deepEqual(rank(c('a_head', 'head_x', 'head', 'zzz'), 'head').map((x) => x.text), ['head_x', 'a_head']);
  assert.equal(rank(c(...Array.from({ length: 100 }, (_, i) => `m${i}`)), 'm', 10).length, 10);
});

test('durations parse and format like Prometheus', () => {
  assert.equal(parseDuration('1h30m'), 5400);
  assert.equal(parseDuration('2d'), 172800);
  assert.equal(parseDuration('250ms'), 0.25);
  assert.equal(parseDuration('15'), 15);
  assert.equal(parseDuration('0.5'), 0.5);
  assert.ok(Number.isNaN(parseDuration('5 minutes')));
  assert.ok(Number.isNaN(parseDuration('')));
  assert.equal(formatDuration(5400), '1h30m');
  assert.equal(formatDuration(15), '15s');
  assert.equal(legendFor('{{instance}} {{status}}', { instance: 'a', status: 'active' }), 'a active');
});

test('chart data: alignment, stacking, y range', () => {
  const m = [{ metric: {}, values: [[1, '1'], [2, '2']] }, { metric: {}, values: [[2, '5'], [3, 'NaN']] }];
  assert.deepEqual(alignMatrix(m), [[1, 2, 3], [1, 2, null], [null, 5, null]]);
  assert.deepEqual(stack([[1, 2, null], [null, 5, null]]), [[1, 2, null], [1, 7, null]]);
  assert.deepEqual(yRange(5, 5, false), [4, 6]);
  assert.deepEqual(yRange(0, 10, true), [0, 10.5]);
  assert.deepEqual(yRange(null, null, false), [0, 1]);
});

const reorgs = allPanels(BEACON).find((p) => p.id === 'reorgs_rate');
const nodes = [{ instance: 'a:1', job: 'beacon' }, { instance: 'b.x:2', job: 'beacon' }];
const types = (perNode = {}, global = {}) => ({
  perNode: new Map(Object.entries(perNode).map(([k, v]) => [k, new Map(Object.entries(v))])),
  global: new Map(Object.entries(global).map(([k, v]) => [k, new Set(v)])),
});
const key = (n) => nodeKey(n);

test('typed panels: counter query where the type is counter or unknown, gauge query for gauge nodes, both mixed', () => {
  assert.deepEqual(queriesFor(reorgs, nodes, types(), new Map()), reorgs.typed.counter);
  const allGauge = types({}, { beacon_reorgs_total: ['gauge'] });
  assert.deepEqual(queriesFor(reorgs, nodes, allGauge, new Map()), reorgs.typed.gauge);
  const mixed = types({ [key(nodes[1])]: { beacon_reorgs_total: 'gauge' } }, { beacon_reorgs_total: ['counter', 'gauge'] });
  const [q] = queriesFor(reorgs, nodes, mixed, new Map());
  assert.match(q.expr, /^\(rate\(beacon_reorgs_total\{job=~"\$job",instance=~"a:1"\}/);
  assert.match(q.expr, /or \(clamp_min\(deriv\(beacon_reorgs_total\{job=~"\$job",instance=~"b\\\\.x:2"\}/);
});

test('metric type: per-target metadata, then _created evidence, then the only type known', () => {
  const presence = new Map([[key(nodes[0]), new Set(['beacon_reorgs_created'])]]);
  assert.equal(typeOf(types({ [key(nodes[0])]: { beacon_reorgs_total: 'gauge' } }), presence, key(nodes[0]), 'beacon_reorgs_total'), 'gauge');
  assert.equal(typeOf(types(), presence, key(nodes[0]), 'beacon_reorgs_total'), 'counter');
  assert.equal(typeOf(types({}, { beacon_reorgs_total: ['gauge'] }), new Map(), key(nodes[1]), 'beacon_reorgs_total'), 'gauge');
  assert.equal(typeOf(types({}, { beacon_reorgs_total: ['gauge', 'counter'] }), new Map(), key(nodes[1]), 'beacon_reorgs_total'), null);
});

test('a node missing from a panel is explained by what it exposes', () => {
  const p = { metrics: ['libp2p_peers', 'p2p_peer_count'] };
  assert.equal(whyMissing(p, nodes[0], new Map()), 'a:1 (beacon) does not expose libp2p_peers (nor p2p_peer_count)');
  const presence = new Map([[key(nodes[0]), new Set(['p2p_peer_count'])]]);
  assert.match(whyMissing(p, nodes[0], presence), /exposes p2p_peer_count but the query returned no data/);
});

test('every UI module parses and its imports resolve (app.js, which starts the app, by syntax only)', async () => {
  const { readdirSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const dir = new URL('../../web/ui/', import.meta.url);
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.js'))) {
    if (f === 'app.js') execFileSync(process.execPath, ['--check', new URL(f, dir).pathname]);
    else await import(new URL(f, dir).href);
  }
});
