// Writes dashboards/grafana/beacon.json and sextant.json from the UI's dashboard definitions
// (web/ui/beacon.js, web/ui/sextant.js). `node gen-grafana.mjs --check` fails instead when a committed
// file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BEACON } from '../../web/ui/beacon.js';
import { SEXTANT } from '../../web/ui/sextant.js';
import { toGrafana } from '../../web/ui/grafana.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let stale = false;
for (const [file, def] of [['beacon.json', BEACON], ['sextant.json', SEXTANT]]) {
  const out = join(root, 'dashboards', 'grafana', file);
  const text = JSON.stringify(toGrafana(def), null, 2) + '\n';
  if (process.argv.includes('--check')) {
    let current = '';
    try { current = readFileSync(out, 'utf8'); } catch { /* missing */ }
    if (current !== text) {
      console.error(`${out} is out of date: run node tests/ui/gen-grafana.mjs`);
      stale = true;
    } else {
      console.log(`${out} is up to date`);
    }
  } else {
    writeFileSync(out, text);
    console.log(`wrote ${out}`);
  }
}
if (stale) process.exit(1);
