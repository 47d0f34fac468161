// The beacon dashboard on the embedded defaults with no beacon node up: one onboarding card (what is
// scraped, how to add a node, how to start the demo) instead of a wall of empty panels; once a node
// reports, the same page shows the normal dashboard without a reload.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ARTIFACTS, sextantBin, startDefaults, waitForSeries } from './harness.mjs';

/** Whether something already answers on the embedded defaults' beacon address (then "no node" cannot be tested). */
const busy8008 = () => new Promise((resolve) => {
  const s = net.connect({ host: '127.0.0.1', port: 8008 });
  s.setTimeout(1000);
  s.on('connect', () => { s.destroy(); resolve(true); });
  s.on('error', () => resolve(false));
  s.on('timeout', () => { s.destroy(); resolve(false); });
});

let h;
let skip = false;

before(async () => {
  if (process.env.UI_BACKEND === 'prometheus' || !existsSync(sextantBin())) { skip = 'needs the sextant binary'; return; }
  if (await busy8008()) { skip = 'something listens on 127.0.0.1:8008, the embedded beacon target'; return; }
  h = await startDefaults();
  // the first scrapes have happened: both default targets have a health
  const until = Date.now() + 30000;
  for (;;) {
    const { data } = await (await fetch(`${h.base}/api/v1/targets`)).json();
    if (data.activeTargets.length === 2 && data.activeTargets.every((t) => t.health !== 'unknown')) break;
    if (Date.now() > until) throw new Error(`targets not scraped: ${JSON.stringify(data)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}, { timeout: 90000 });

after(async () => { if (h) await h.stop(); });

test('no beacon node: one onboarding card, no empty panels', async (t) => {
  if (skip) { t.skip(skip); return; }
  const page = await h.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.setDefaultTimeout(20000);
  await page.goto(`${h.base}/dashboards/beacon?refresh=5s`);
  const card = page.locator('#onboarding');
  await card.waitFor();
  await page.waitForFunction(() => /updated/.test(document.querySelector('#updated').innerText));
  assert.equal(await page.locator('.onboarding:visible').count(), 1, 'exactly one onboarding card');
  assert.equal(await page.locator('[data-panel]:visible').count(), 0, 'no panel is shown');
  assert.equal(await page.locator('.dash-row:visible').count(), 0, 'no dashboard row is shown');
  const body = await page.locator('main').innerText();
  assert.doesNotMatch(body, /No data/, 'no "No data" paragraph');
  assert.doesNotMatch(body, /Nodes out of sync/, 'no "Nodes out of sync 0" stat');
  assert.doesNotMatch(body, /show \d+ panels? no node has data for/);
  // what is scraped: the two default jobs, the beacon node down
  const text = await card.innerText();
  assert.match(text, /No beacon node has reported yet/);
  const targets = page.locator('#onboarding-targets tbody tr');
  assert.equal(await targets.count(), 2);
  const beacon = await page.locator('#onboarding-targets tr[data-job="beacon"]').innerText();
  assert.match(beacon, /127\.0\.0\.1:8008/);
  assert.match(beacon, /down/);
  assert.match(await page.locator('#onboarding-targets tr[data-job="sextant"]').innerText(), /up/);
  // how to add a node and how to start the demo
  const config = await page.locator('#onboarding-config').innerText();
  assert.match(config, /scrape_configs:[\s\S]*job_name: beacon[\s\S]*127\.0\.0\.1:8008/);
  assert.match(text, /--config\.file=prometheus\.yml/);
  assert.match(text, /cargo run --release -- --demo/);
  assert.match(text, /sextant --demo/);
  await page.screenshot({ path: join(ARTIFACTS, 'onboarding.png') });

  // a node reports (pushed here, as a scraped node would be stored): the panels replace the card
  const push = await fetch(`${h.base}/api/v1/import/prometheus`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: 'beacon_head_slot{job="beacon",instance="node-1:8008"} 123\nlibp2p_peers{job="beacon",instance="node-1:8008"} 40\n',
  });
  assert.ok(push.ok, `import: ${push.status} ${await push.text()}`);
  await waitForSeries(h.base, 'beacon_head_slot', 1);
  await card.waitFor({ state: 'hidden', timeout: 15000 });
  await page.locator('[data-panel="stat_head_slot"].has-data').waitFor();
  await page.locator('[data-panel="stat_peers"].has-data').waitFor();
  assert.equal(await page.locator('.onboarding:visible').count(), 0, 'the onboarding card is gone');
  assert.ok(await page.locator('[data-panel="stat_out_of_sync"]').isVisible(), 'the out-of-sync stat is back');
  assert.match(await page.locator('[data-panel="stat_head_slot"]').innerText(), /123/);
  await page.screenshot({ path: join(ARTIFACTS, 'onboarding-then-node.png') });
  assert.deepEqual(errors, []);
  await page.close();
});
