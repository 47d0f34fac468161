// Browser tests of the embedded UI against a running server with scraped, simulated beacon nodes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { ARTIFACTS, REPO, start, waitForSeries } from './harness.mjs';
import { BEACON, allPanels } from '../../web/ui/beacon.js';
import { expand } from '../../web/ui/nodes.js';

let h;
const pageErrors = [];

// one recording and one always-firing alerting rule, evaluated every second
const RULES = `groups:
  - name: ui-test
    interval: 1s
    rules:
      - record: job:beacon_head_slot:max
        expr: max by (job) (beacon_head_slot)
      - alert: AlwaysOn
        expr: vector(1)
        labels:
          severity: page
        annotations:
          summary: always on for the UI test
`;

before(async () => {
  h = await start({ rules: RULES });
  // three nodes scraped (every second), then enough samples for rates and reorg events
  await waitForSeries(h.base, 'beacon_head_slot', 3, 60000);
  await new Promise((r) => setTimeout(r, 10000));
}, { timeout: 120000 });

after(async () => { if (h) await h.stop(); });

async function open(path) {
  const page = await h.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${path}: ${e.message}`));
  page.setDefaultTimeout(20000);
  await page.goto(`${h.base}${path}`);
  return page;
}

const port = (flavour) => h.nodes.find((n) => n.flavour === flavour).port;

test('explorer graphs a range query with a legend, then shows the table', async () => {
  const page = await open('/graph?expr=beacon_head_slot&tab=graph&range=5m');
  await page.locator('#output .chart canvas').first().waitFor();
  const legend = page.locator('#output .u-legend .u-series');
  await assert.doesNotReject(async () => legend.nth(3).waitFor());
  const text = await page.locator('#output .u-legend').innerText();
  for (const f of ['spec', 'prysm', 'nimbus']) assert.match(text, new RegExp(`127\\.0\\.0\\.1:${port(f)}`));
  await page.screenshot({ path: join(ARTIFACTS, 'explorer-graph.png') });
  await page.click('button[data-tab=table]');
  await page.locator('#result-table tbody tr').nth(2).waitFor();
  assert.equal(await page.locator('#result-table tbody tr').count(), 3);
  assert.match(page.url(), /tab=table/);
  assert.match(page.url(), /expr=beacon_head_slot/);
  await page.screenshot({ path: join(ARTIFACTS, 'explorer-table.png') });
  await page.close();
});

test('explorer: stacking and drag-zoom update the graph and the URL', async () => {
  const page = await open('/graph?expr=libp2p_peers&tab=graph&range=1m');
  const canvas = page.locator('#output .chart canvas').first();
  await canvas.waitFor();
  await page.check('#stacked');
  await page.waitForURL(/stacked=1/);
  await page.locator('#output .chart canvas').first().waitFor();
  // drag across the recent part of the plot (where the data is): the range shrinks and an end time is set
  const over = page.locator('#output .u-over');
  const box = await over.boundingBox();
  await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.98, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForURL(/end=/);
  const range = new URL(page.url()).searchParams.get('range');
  assert.notEqual(range, '1m');
  assert.match(range, /^(\d+[hms])+$/);
  await page.locator('#output .chart canvas').first().waitFor();
  await page.close();
});

test('explorer state survives a reload from the URL', async () => {
  const page = await open('/graph?expr=libp2p_peers&tab=table&range=10m');
  await page.locator('#result-table tbody tr').first().waitFor();
  assert.equal(await page.inputValue('#expr'), 'libp2p_peers');
  assert.equal(await page.inputValue('#range'), '10m');
  await page.close();
});

test('Prometheus-style explorer links work', async () => {
  const page = await open('/query?g0.expr=beacon_finalized_epoch&g0.tab=1');
  await page.locator('#result-table tbody tr').nth(2).waitFor();
  assert.equal(await page.inputValue('#expr'), 'beacon_finalized_epoch');
  await page.close();
});

test('a bad query shows its error inline', async () => {
  const page = await open('/graph?expr=sum(beacon_head_slot&tab=table');
  const err = page.locator('#query-error');
  await err.waitFor();
  assert.ok((await err.innerText()).length > 5);
  await page.click('button[data-tab=graph]');
  await err.waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'explorer-error.png') });
  await page.close();
});

test('completion offers metric names, label names and label values', async () => {
  const page = await open('/graph');
  const input = page.locator('#expr');
  await input.pressSequentially('beacon_head_sl');
  await page.locator('.completions li[data-value="beacon_head_slot"]').waitFor();
  await input.press('Tab');
  assert.equal(await input.inputValue(), 'beacon_head_slot');
  await input.pressSequentially('{inst');
  await page.locator('.completions li[data-value="instance"]').waitFor();
  await input.press('Tab');
  assert.equal(await input.inputValue(), 'beacon_head_slot{instance');
  await input.pressSequentially('="');
  const value = `127.0.0.1:${port('prysm')}`;
  await page.locator(`.completions li[data-value="${value}"]`).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'explorer-completion.png') });
  await page.locator(`.completions li[data-value="${value}"]`).click();
  assert.equal(await input.inputValue(), `beacon_head_slot{instance="${value}"`);
  await page.close();
});

test('targets page lists targets by job with health and filters by state', async () => {
  const page = await open('/targets');
  const beacon = page.locator('.pool[data-pool="beacon"] tr.target');
  await beacon.nth(2).waitFor();
  assert.equal(await beacon.count(), 3);
  assert.equal(await page.locator('.pool[data-pool="beacon"] .badge.up').count(), 4); // 3 targets + the "3/3 up" header
  await page.locator('.pool[data-pool="offline"] tr.target .badge.down').waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'targets.png'), fullPage: true });
  await page.click('button[data-state=down]');
  await page.waitForFunction(() => !document.querySelector('.pool[data-pool="beacon"]'));
  assert.equal(await page.locator('.pool[data-pool="offline"] tr.target').count(), 1);
  assert.ok((await page.locator('.pool[data-pool="offline"] .error-cell').innerText()).length > 0, 'the down target shows its last error');
  assert.match(page.url(), /state=down/);
  await page.close();
});

test('status page shows build info, flags, config and TSDB cardinality', async () => {
  const page = await open('/status');
  await page.locator('#buildinfo table').waitFor();
  assert.match(await page.locator('#buildinfo').innerText(), /version/);
  await page.locator('#flags table').waitFor();
  await page.locator('#config pre').waitFor();
  assert.match(await page.locator('#config pre').innerText(), /beacon/);
  await page.locator('#series-by-metric tbody tr').first().waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'status.png'), fullPage: true });
  await page.close();
});

const MINIMAL_PANELS = ['stat_head_slot', 'stat_peers', 'stat_active_validators', 'head_slot', 'finalized_epoch',
  'current_justified_epoch', 'previous_justified_epoch', 'finality_distance', 'peers', 'active_validators',
  'reorgs_rate', 'reorgs_events', 'processed_deposits', 'head_lag_wall', 'head_lag_best'];

test('beacon dashboard draws every minimal panel with data and the conformance table', async () => {
  const page = await open('/dashboards/beacon?range=15m&refresh=off');
  for (const id of MINIMAL_PANELS) {
    await page.locator(`[data-panel="${id}"].has-data`).waitFor();
  }
  for (const id of MINIMAL_PANELS.filter((i) => !i.startsWith('stat_'))) {
    assert.equal(await page.locator(`[data-panel="${id}"] canvas`).count() > 0, true, `${id} draws a chart`);
  }
  // peers: two nodes by libp2p_peers, the Prysm-like one by its p2p_peer_count fallback
  assert.equal(await page.locator('[data-panel="peers"] .u-legend .u-series').count(), 4);
  // a proposed metric one node exposes is shown; one nobody exposes is hidden
  await page.locator('[data-panel="validators_by_status"].has-data canvas').first().waitFor();
  await page.locator('[data-panel="block_delay_heatmap"].has-data canvas.heatmap').waitFor();
  await page.locator('[data-panel="gossipsub_mesh"]').waitFor({ state: 'hidden' });
  await page.waitForFunction(() => /updated/.test(document.querySelector('#updated').innerText));
  assert.equal(await page.locator('[data-panel="gossipsub_mesh"]').isVisible(), false);
  assert.equal(await page.locator('#onboarding').isVisible(), false, 'no onboarding card while nodes report');
  // the node lacking processed deposits is named
  const missing = await page.locator('[data-panel="processed_deposits"] .missing').innerText();
  assert.match(missing, new RegExp(`127\\.0\\.0\\.1:${port('nimbus')}.*does not expose beacon_processed_deposits_total`));
  // the nodes table: one row per node, the lagging one flagged
  await page.locator('[data-panel="nodes_table"].has-data #nodes-table').waitFor();
  assert.equal(await page.locator('#nodes-table tbody tr').count(), 3);
  const lagCell = page.locator(`#nodes-table tr[data-node^="127.0.0.1:${port('prysm')} "] td`).nth(2);
  assert.match(await lagCell.getAttribute('class'), /warn/);
  // conformance: one row per node, deviations reported
  const rows = page.locator('#conformance-table tbody tr');
  await rows.nth(2).waitFor();
  assert.equal(await rows.count(), 3);
  const row = (f) => page.locator(`#conformance-table tr[data-node^="127.0.0.1:${port(f)} "]`);
  assert.match(await row('spec').locator('td').nth(1).innerText(), /8\/8/);
  assert.match(await row('prysm').locator('td[data-metric="libp2p_peers"]').innerText(), /missing[\s\S]*p2p_peer_count/);
  assert.match(await row('nimbus').locator('td[data-metric="beacon_reorgs_total"]').innerText(), /gauge/);
  assert.match(await row('nimbus').locator('td[data-metric="beacon_processed_deposits_total"]').innerText(), /missing/);
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-top.png') });
  // the same dashboard for Grafana, offered for download
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#grafana-download')]);
  const saved = join(ARTIFACTS, 'beacon-grafana.json');
  await download.saveAs(saved);
  const json = JSON.parse(readFileSync(saved, 'utf8'));
  assert.deepEqual(json, JSON.parse(readFileSync(join(REPO, 'dashboards', 'grafana', 'beacon.json'), 'utf8')));
  await page.close();
});

test('dashboard node selector narrows panels to one node', async () => {
  const page = await open(`/dashboards/beacon?range=15m&refresh=off&instance=127.0.0.1:${port('prysm')}`);
  await page.locator('[data-panel="head_slot"].has-data canvas').first().waitFor();
  assert.equal(await page.locator('[data-panel="head_slot"] .u-legend .u-series').count(), 2);
  assert.equal(await page.inputValue('#instance'), `127.0.0.1:${port('prysm')}`);
  // the lagging node is behind the wall clock by about 6 slots
  const lag = await page.locator('[data-panel="stat_sync_lag"] .value').first().innerText();
  assert.ok(Number(lag) >= 5 && Number(lag) <= 7, `sync lag ${lag}`);
  assert.match(await page.locator('[data-panel="stat_sync_lag"] .value').first().getAttribute('class'), /warn/);
  // a panel's query opens in the explorer, with the node filled in
  await page.click('[data-panel="head_slot"] a.explore');
  await page.waitForURL(/\/graph\?/);
  assert.match(await page.inputValue('#expr'), new RegExp(`beacon_head_slot\\{job=~"\\.\\+",instance=~"127\\\\\\\\.0`));
  await page.locator('#output .chart canvas').first().waitFor();
  await page.close();
});

test('dashboard auto-refresh redraws', async () => {
  const page = await open('/dashboards/beacon?range=5m&refresh=5s');
  await page.locator('[data-panel="head_slot"].has-data canvas').first().waitFor();
  const first = await page.locator('#updated').innerText();
  await page.waitForFunction((before) => document.querySelector('#updated').innerText !== before, first, { timeout: 15000 });
  assert.equal(await page.inputValue('#refresh'), '5s');
  await page.close();
});

test('dashboard drag-zoom pins the time range until back to live', async () => {
  const page = await open('/dashboards/beacon?range=15m&refresh=off');
  await page.locator('[data-panel="head_slot"].has-data canvas').first().waitFor();
  const over = page.locator('[data-panel="head_slot"] .u-over');
  const box = await over.boundingBox();
  await page.mouse.move(box.x + box.width * 0.90, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.99, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForURL(/end=\d+/);
  assert.equal(await page.locator('#live').isVisible(), true);
  assert.notEqual(await page.inputValue('#range'), '15m');
  await page.click('#live');
  await page.waitForURL((u) => !u.searchParams.has('end'));
  await page.locator('[data-panel="head_slot"].has-data canvas').first().waitFor();
  await page.close();
});

test('the server accepts every dashboard query', async () => {
  const vars = { job: '.+', instance: '.+', __interval: '15s', __rate_interval: '1m', __range: '1h', seconds_per_slot: 12, slots_per_epoch: 32, genesis_time: 1606824023 };
  const failures = [];
  for (const p of allPanels(BEACON)) {
    for (const q of [...p.queries, ...(p.typed ? p.typed.gauge : [])]) {
      const expr = expand(q.expr, vars);
      const r = await (await fetch(`${h.base}/api/v1/query?query=${encodeURIComponent(expr)}`)).json();
      if (r.status !== 'success') failures.push(`${p.id}: ${r.error}\n  ${expr}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('rules page lists the group with its recording and alerting rules', async () => {
  const page = await open('/status');
  await page.click('header a[data-page=rules]');
  await page.waitForURL(/\/rules$/);
  const group = page.locator('.group[data-group="ui-test"]');
  await group.locator('tr.rule').nth(1).waitFor();
  assert.equal(await group.locator('tr.rule').count(), 2);
  assert.match(await group.locator('.group-info').innerText(), /rules\.yml[\s\S]*interval: 1s/);
  const record = group.locator('tr.rule[data-rule="job:beacon_head_slot:max"]');
  assert.equal(await record.getAttribute('data-type'), 'recording');
  assert.match(await record.innerText(), /max by \(job\) \(beacon_head_slot\)/);
  assert.match(await record.locator('.badge').first().innerText(), /ok/);
  const alert = group.locator('tr.rule[data-rule="AlwaysOn"]');
  assert.equal(await alert.getAttribute('data-type'), 'alerting');
  await page.waitForFunction(() => /firing/.test(document.querySelector('tr.rule[data-rule="AlwaysOn"] .state')?.innerText || ''));
  assert.match(await alert.locator('.active-count').innerText(), /1 active/);
  await page.screenshot({ path: join(ARTIFACTS, 'rules.png'), fullPage: true });
  // the expression opens in the explorer
  await record.locator('a.expr').click();
  await page.waitForURL(/\/graph\?/);
  assert.equal(await page.inputValue('#expr'), 'max by (job) (beacon_head_slot)');
  await page.close();
});

test('alerts page shows the firing alert and filters by state and text', async () => {
  const page = await open('/alerts');
  const firing = page.locator('.state-section[data-state="firing"] .alert-rule[data-rule="AlwaysOn"]');
  await firing.locator('tr.alert').first().waitFor();
  const row = await firing.locator('tr.alert').first().innerText();
  assert.match(row, /alertname="AlwaysOn"/);
  assert.match(row, /severity="page"/);
  assert.match(row, /firing/);
  assert.match(row, /always on for the UI test/);
  assert.match(await page.locator('#state-filter button[data-state=firing]').innerText(), /firing \(\d+\)/);
  await page.screenshot({ path: join(ARTIFACTS, 'alerts.png'), fullPage: true });
  // hide firing rules: the alert disappears and the URL keeps the filter
  await page.click('#state-filter button[data-state=firing]');
  await page.waitForFunction(() => !document.querySelector('.state-section[data-state="firing"]'));
  assert.match(page.url(), /state=pending%2Cinactive|state=pending,inactive/);
  await page.click('#state-filter button[data-state=firing]');
  await firing.waitFor();
  // a text filter that matches nothing in the rule hides it
  await page.fill('#alerts-search', 'no-such-alert');
  await page.waitForFunction(() => !document.querySelector('.alert-rule[data-rule="AlwaysOn"]'));
  await page.fill('#alerts-search', 'severity');
  await firing.waitFor();
  assert.match(page.url(), /search=severity/);
  await page.close();
});

/** Pushes three points of an OTLP exponential histogram (a native histogram once stored). */
async function pushNativeHistogram() {
  const now = Date.now();
  for (const [i, ago] of [[1, 40000], [2, 20000], [3, 1000]].map(([n, a]) => [n, a])) {
    const body = {
      resourceMetrics: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'ui-hist' } }] },
        scopeMetrics: [{
          metrics: [{
            name: 'ui.latency',
            unit: 's',
            exponentialHistogram: {
              aggregationTemporality: 2,
              dataPoints: [{
                timeUnixNano: String((now - ago) * 1e6),
                count: String(6 * i),
                sum: 3.5 * i,
                scale: 2,
                zeroCount: String(i),
                positive: { offset: -2, bucketCounts: [String(2 * i), String(3 * i)] },
              }],
            },
          }],
        }],
      }],
    };
    const r = await fetch(`${h.base}/v1/metrics`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 200, await r.text());
  }
}

test('explorer draws a native histogram as a heatmap and its instant buckets as bars', async () => {
  await pushNativeHistogram();
  const page = await open('/graph?expr=ui_latency_seconds&tab=graph&range=5m');
  await page.locator('#output .native-heatmap canvas.heatmap').first().waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'explorer-native-heatmap.png') });
  await page.click('button[data-tab=table]');
  await page.locator('#result-table .hist-bar').first().waitFor();
  // zero bucket and two positive buckets, each with its count
  assert.equal(await page.locator('#result-table .hist-bar').count(), 3);
  assert.match(await page.locator('#result-table .hist-bars').innerText(), /count 18/);
  await page.screenshot({ path: join(ARTIFACTS, 'explorer-native-bars.png') });
  await page.close();
});

test('no uncaught errors in any page', () => {
  assert.deepEqual(pageErrors, []);
});
