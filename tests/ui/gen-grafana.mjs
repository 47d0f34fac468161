// Writes dashboards/grafana/beacon.json from the UI's dashboard definition (web/ui/beacon.js).
// `node gen-grafana.mjs --check` fails instead when the committed file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BEACON } from '../../web/ui/beacon.js';
import { toGrafana } from '../../web/ui/grafana.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'dashboards', 'grafana', 'beacon.json');
const text = JSON.stringify(toGrafana(BEACON), null, 2) + '\n';
if (process.argv.includes('--check')) {
  let current = '';
  try { current = readFileSync(out, 'utf8'); } catch { /* missing */ }
  if (current !== text) {
    console.error(`${out} is out of date: run node tests/ui/gen-grafana.mjs`);
    process.exit(1);
  }
  console.log(`${out} is up to date`);
} else {
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}
