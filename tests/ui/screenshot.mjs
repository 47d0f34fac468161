// Saves a screenshot of a page of a running Sextant (used for the README's picture):
//   node screenshot.mjs <url> <out.png> [width] [height]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { browser } from './harness.mjs';

const [url, out, width = '1400', height = '1000'] = process.argv.slice(2);
if (!url || !out) {
  console.error('usage: node screenshot.mjs <url> <out.png> [width] [height]');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'sextant-shot-'));
const context = await browser(dir);
try {
  const page = await context.newPage();
  await page.setViewportSize({ width: Number(width), height: Number(height) });
  await page.goto(url);
  await page.waitForSelector('.has-data', { timeout: 30000 });
  await page.waitForTimeout(3000);
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await context.close();
  rmSync(dir, { recursive: true, force: true });
}
