// `sextant --demo` out of the box: the simulated beacon nodes fill the dashboard and the
// conformance table. Skipped (with a note) while the binary has no --demo flag.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ARTIFACTS, sextantBin, startDemo, waitForSeries } from './harness.mjs';

function hasDemoFlag() {
  if (process.env.UI_BACKEND === 'prometheus' || !existsSync(sextantBin())) return false;
  try {
    return execFileSync(sextantBin(), ['--help'], { encoding: 'utf8' }).includes('--demo');
  } catch { return false; }
}

const demo = hasDemoFlag();
let h;

before(async () => {
  if (!demo) return;
  h = await startDemo();
  await waitForSeries(h.base, 'beacon_head_slot', 4, 60000);
  await new Promise((r) => setTimeout(r, 16000)); // a few 5 s scrapes for rates
}, { timeout: 120000 });

after(async () => { if (h) await h.stop(); });

test('demo: the dashboard shows the simulated nodes and their deviations', { skip: !demo && 'sextant has no --demo flag yet' }, async () => {
  const page = await h.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.setDefaultTimeout(30000);
  await page.goto(`${h.base}/`);
  for (const id of ['stat_head_slot', 'head_slot', 'finalized_epoch', 'peers', 'active_validators', 'processed_deposits', 'reorgs_rate']) {
    await page.locator(`[data-panel="${id}"].has-data`).waitFor();
  }
  assert.equal(await page.locator('#onboarding').isVisible(), false, 'no onboarding card while nodes report');
  const rows = page.locator('#conformance-table tbody tr');
  await rows.nth(3).waitFor();
  assert.equal(await rows.count(), 4);
  const text = await page.locator('#conformance-table').innerText();
  assert.match(text, /p2p_peer_count/);
  assert.match(text, /⚠ gauge/);
  assert.match(text, /missing/);
  await page.screenshot({ path: join(ARTIFACTS, 'demo-dashboard.png') });
  await page.screenshot({ path: join(ARTIFACTS, 'demo-dashboard-full.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});
