// The Grafana dashboard file and the UI's dashboard come from one definition: check they agree.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BEACON, MINIMAL, PROPOSED, allPanels } from '../../web/ui/beacon.js';
import { toGrafana } from '../../web/ui/grafana.js';
import { expand, regexEscape } from '../../web/ui/nodes.js';
import { REPO } from './harness.mjs';

const file = JSON.parse(readFileSync(join(REPO, 'dashboards', 'grafana', 'beacon.json'), 'utf8'));
const grafanaExprs = new Set(file.panels.flatMap((p) => (p.targets || []).map((t) => t.expr)));

test('dashboards/grafana/beacon.json is what the definition generates', () => {
  execFileSync(process.execPath, [join(REPO, 'tests', 'ui', 'gen-grafana.mjs'), '--check'], { stdio: 'pipe' });
  assert.deepEqual(file, JSON.parse(JSON.stringify(toGrafana(BEACON))));
});

test('every panel expression of the UI appears in the Grafana dashboard', () => {
  for (const p of allPanels(BEACON)) {
    const exprs = [...p.queries, ...(p.typed ? [...p.typed.counter, ...p.typed.gauge] : [])].map((q) => q.expr);
    for (const e of exprs) assert.ok(grafanaExprs.has(e), `panel ${p.id}: ${e} missing from beacon.json`);
  }
  const titles = new Set(file.panels.map((p) => p.title));
  for (const p of allPanels(BEACON)) assert.ok(titles.has(p.title), `panel ${p.title} missing from beacon.json`);
});

test('every minimal metric of the spec has a panel', () => {
  const used = allPanels(BEACON).flatMap((p) => p.queries.map((q) => q.expr)).join('\n');
  for (const m of MINIMAL) assert.match(used, new RegExp(`\\b${m.name}\\b`), `${m.name} has no panel`);
});

test('the Grafana dashboard uses a Prometheus data-source variable and defines every variable it uses', () => {
  const vars = new Set(file.templating.list.map((v) => v.name));
  assert.ok(vars.has('datasource'));
  assert.equal(file.templating.list.find((v) => v.name === 'datasource').query, 'prometheus');
  const builtin = new Set(['__rate_interval', '__interval', '__range']);
  for (const p of file.panels) {
    if (p.type !== 'row') assert.equal(p.datasource.uid, '${datasource}', p.title);
    for (const t of p.targets || []) {
      for (const [, name] of t.expr.matchAll(/\$(\w+)/g)) assert.ok(vars.has(name) || builtin.has(name), `${p.title}: $${name} undefined`);
    }
  }
  const ids = file.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
});

test('variable expansion and regex escaping', () => {
  assert.equal(expand('up{instance=~"$instance"}[$__rate_interval] ${job}', { instance: 'a', __rate_interval: '1m', job: 'j' }),
    'up{instance=~"a"}[1m] j');
  assert.equal(expand('$unknown', {}), '$unknown');
  assert.equal(regexEscape('127.0.0.1:8008'), '127\\\\.0\\\\.0\\\\.1:8008');
});

test('every metric of the spec (fixtures/spec) has a panel, histograms by their buckets', () => {
  const panelMetrics = new Set(allPanels(BEACON).flatMap((p) => p.metrics || []));
  for (const file of ['beacon-metrics-metrics.md', 'beacon-metrics-focil.md']) {
    const text = readFileSync(join(REPO, 'tests', 'fixtures', 'spec', file), 'utf8');
    const rows = [...text.matchAll(/^\|\s*`(\w+)`\s*\|\s*(Gauge|Counter|Histogram)\s*\|/gm)];
    assert.ok(rows.length >= 15, `${file}: found the metric tables`);
    for (const [, name, type] of rows) {
      const wanted = type === 'Histogram' ? `${name}_bucket` : name;
      assert.ok(panelMetrics.has(wanted), `${file}: ${name} (${type}) has no panel`);
    }
  }
  const additional = readFileSync(join(REPO, 'tests', 'fixtures', 'spec', 'beacon-metrics-metrics.md'), 'utf8').split('### Additional Metrics')[1];
  for (const [, name] of additional.matchAll(/^\|\s*`(\w+)`/gm)) {
    assert.ok(PROPOSED.includes(name) || MINIMAL.some((m) => m.name === name), `${name} is not in PROPOSED`);
  }
});

test('dashboards/grafana/sextant.json: generated from the definition, every UI expression in it, variables defined', async () => {
  const { SEXTANT } = await import('../../web/ui/sextant.js');
  const sx = JSON.parse(readFileSync(join(REPO, 'dashboards', 'grafana', 'sextant.json'), 'utf8'));
  assert.deepEqual(sx, JSON.parse(JSON.stringify(toGrafana(SEXTANT))));
  const exprs = new Set(sx.panels.flatMap((p) => (p.targets || []).map((t) => t.expr)));
  for (const p of allPanels(SEXTANT)) for (const q of p.queries) assert.ok(exprs.has(q.expr), `panel ${p.id}: ${q.expr} missing`);
  const vars = new Set(sx.templating.list.map((v) => v.name));
  assert.deepEqual([...vars], ['datasource', 'job', 'instance']);
  assert.equal(sx.templating.list[0].query, 'prometheus');
  const builtin = new Set(['__rate_interval', '__interval', '__range']);
  for (const p of sx.panels) {
    if (p.type !== 'row') assert.equal(p.datasource.uid, '${datasource}', p.title);
    for (const t of p.targets || []) {
      for (const [, name] of t.expr.matchAll(/\$(\w+)/g)) assert.ok(vars.has(name) || builtin.has(name), `${p.title}: $${name} undefined`);
    }
  }
});
