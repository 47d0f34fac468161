// The "Sextant" dashboard: Sextant scraping itself every second fills it, every panel's query
// evaluates without error, and the page works like the beacon dashboard (node selector, URL state).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ARTIFACTS, startSelf, waitForData } from './harness.mjs';
import { SEXTANT } from '../../web/ui/sextant.js';
import { allPanels } from '../../web/ui/beacon.js';
import { expand } from '../../web/ui/nodes.js';

let h;

before(async () => {
  if (process.env.UI_BACKEND === 'prometheus') return;
  h = await startSelf();
  // a few self-scrapes, so rates have two points
  await waitForData(h.base, 'count_over_time(sextant_build_info{job="sextant"}[1m])', (r) => r.length === 1 && Number(r[0].value[1]) >= 4, 60000);
}, { timeout: 90000 });

after(async () => { if (h) await h.stop(); });

const skip = process.env.UI_BACKEND === 'prometheus' && 'Sextant\'s own metrics need the sextant backend';

test('every Sextant dashboard expression evaluates on the API', { skip }, async () => {
  const vars = { job: '.+', instance: '.+', __rate_interval: '1m', __interval: '15s', __range: '1h' };
  for (const p of allPanels(SEXTANT)) {
    for (const q of p.queries) {
      const expr = expand(q.expr, vars);
      const r = await (await fetch(`${h.base}/api/v1/query?query=${encodeURIComponent(expr)}`)).json();
      assert.equal(r.status, 'success', `${p.id}: ${expr}: ${JSON.stringify(r)}`);
    }
  }
});

test('the Sextant dashboard shows Sextant\'s own figures', { skip }, async () => {
  const page = await h.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.setDefaultTimeout(30000);
  await page.goto(`${h.base}/`);
  await page.click('a[href="/dashboards/sextant"]');
  await page.waitForURL(/\/dashboards\/sextant/);
  await page.locator('h1', { hasText: 'Sextant' }).waitFor();
  assert.equal(await page.locator('a.active[href="/dashboards/sextant"]').count(), 1, 'nav link is active');
  for (const id of ['sx_up', 'sx_version', 'sx_stat_series', 'sx_ingest_protocol', 'sx_query_rate', 'sx_http_requests', 'sx_head_series', 'sx_fsync', 'sx_memory', 'sx_cpu']) {
    await page.locator(`[data-panel="${id}"].has-data`).waitFor();
  }
  assert.match(await page.locator('[data-panel="sx_version"]').innerText(), /\d+\.\d+\.\d+/);
  assert.match(await page.locator('[data-panel="sx_ingest_protocol"] .u-legend').innerText(), /scrape/);
  assert.equal(await page.locator('[data-panel] .error').count(), 0, 'no panel query failed');
  assert.equal(await page.locator('#network').count(), 0, 'no beacon network settings');
  await page.selectOption('#job', 'sextant');
  await page.waitForURL(/job=sextant/);
  await page.locator('[data-panel="sx_head_series"].has-data').waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'sextant-dashboard.png') });
  await page.screenshot({ path: join(ARTIFACTS, 'sextant-dashboard-full.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});
