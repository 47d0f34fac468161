// Test harness: simulated beacon nodes, the server under test and a headless Debian chromium.
//
// Backend (env UI_BACKEND):
//   sextant (default)  the real binary at $SEXTANT_BIN (default $CARGO_TARGET_DIR or <repo>/target, debug/sextant),
//                      started with Prometheus' flags and a config that scrapes the simulated nodes;
//   prometheus         development aid: Debian's `prometheus` for the API plus a tiny server here that
//                      serves web/ui like web/src/ui.rs does, so the UI can be tried before the API lands.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startNodes } from './sim-nodes.mjs';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = join(REPO, 'tests', 'ui', 'artifacts');

const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer();
  s.on('error', reject);
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(url, ms, proc, what) {
  const until = Date.now() + ms;
  let last = '';
  while (Date.now() < until) {
    if (proc && proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}:\n${proc.logs()}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
      last = `${r.status}`;
    } catch (e) { last = e.message; }
    await sleep(200);
  }
  throw new Error(`${what} not ready at ${url} after ${ms} ms (${last})\n${proc ? proc.logs() : ''}`);
}

function run(cmd, args, what) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d) => { out = (out + d).slice(-20000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.logs = () => out;
  child.on('error', (e) => { keep(`\n${what} failed to start: ${e.message}\n`); });
  return child;
}

function config(nodes, downPort, ruleFiles = []) {
  const targets = nodes.map((n) => `'127.0.0.1:${n.port}'`).join(', ');
  const rules = ruleFiles.length ? `rule_files: [${ruleFiles.map((f) => `'${f}'`).join(', ')}]\n` : '';
  return `${rules}global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: beacon
    static_configs:
      - targets: [${targets}]
  - job_name: offline
    static_configs:
      - targets: ['127.0.0.1:${downPort}']
`;
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

/** Serves web/ui the way web/src/ui.rs does and proxies everything else to `upstream`. */
function uiProxy(port, upstream) {
  const uiDir = join(REPO, 'web', 'ui');
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const file = /^\/(graph|query|targets|rules|alerts|status|dashboards(\/[\w-]+)?)?\/?$/.test(path) ? 'index.html'
      : path.startsWith('/ui/') && !path.includes('..') ? path.slice(4) : null;
    if (file) {
      try {
        const body = readFileSync(join(uiDir, file));
        res.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'text/plain; charset=utf-8' });
        res.end(body);
      } catch { res.writeHead(404); res.end('no such UI file\n'); }
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: upstream, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', (e) => { res.writeHead(502); res.end(e.message); });
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/** The sextant binary the tests run. */
export function sextantBin() {
  const target = process.env.CARGO_TARGET_DIR || join(REPO, 'target');
  return process.env.SEXTANT_BIN || join(target, 'debug', 'sextant');
}

/** Launches headless Debian chromium with a fresh profile under `dir`. */
export function browser(dir) {
  return chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1000 },
  });
}

/** Starts sextant with no config file (its embedded defaults) plus `args`, and a browser. Returns {base, context, stop()}. */
async function startEmbedded(args, what) {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-embedded-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  const p = run(sextantBin(), [...args, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], what);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/-/ready`, 60000, p, what);
  const context = await browser(dir);
  return {
    base, context, proc: p,
    async stop() {
      await context.close().catch(() => {});
      if (p.exitCode === null) { p.kill('SIGTERM'); await new Promise((r) => { p.on('exit', r); setTimeout(r, 5000); }); }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `sextant --demo` (no config file) and a browser. Returns {base, context, stop()}. */
export const startDemo = () => startEmbedded(['--demo'], 'sextant --demo');

/** Starts `sextant` on its embedded defaults (itself and a beacon node at 127.0.0.1:8008) and a browser. */
export const startDefaults = () => startEmbedded([], 'sextant');

/** Starts sextant with a configuration that scrapes only itself, every second, and a browser. Returns {base, context, stop()}. */
export async function startSelf() {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-self-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  const cfg = join(dir, 'config.yml');
  writeFileSync(cfg, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: sextant\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`);
  const p = run(sextantBin(), [`--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], 'sextant');
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/-/ready`, 60000, p, 'sextant');
  const context = await browser(dir);
  return {
    base, context, proc: p,
    async stop() {
      await context.close().catch(() => {});
      if (p.exitCode === null) { p.kill('SIGTERM'); await new Promise((r) => { p.on('exit', r); setTimeout(r, 5000); }); }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts nodes, backend and browser. Returns {base, nodes, browser context, stop()}.
 * `rules`: the text of a rule file (Prometheus format) to list in the config's `rule_files`.
 */
export async function start({ rules } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-ui-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  const nodes = await startNodes();
  const downPort = await freePort();
  const cfg = join(dir, 'config.yml');
  const ruleFiles = [];
  if (rules) {
    ruleFiles.push(join(dir, 'rules.yml'));
    writeFileSync(ruleFiles[0], rules);
  }
  writeFileSync(cfg, config(nodes, downPort, ruleFiles));
  const backend = process.env.UI_BACKEND || 'sextant';
  const procs = []; const servers = [];
  let base;
  if (backend === 'prometheus') {
    const promPort = await freePort();
    const p = run('prometheus', [`--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`], 'prometheus');
    procs.push(p);
    await waitFor(`http://127.0.0.1:${promPort}/-/ready`, 30000, p, 'prometheus');
    const port = await freePort();
    servers.push(await uiProxy(port, promPort));
    base = `http://127.0.0.1:${port}`;
  } else {
    const bin = sextantBin();
    if (!existsSync(bin)) throw new Error(`no sextant binary at ${bin}: build it (cargo build) or set SEXTANT_BIN`);
    const port = await freePort();
    const extra = (process.env.SEXTANT_EXTRA_ARGS || '').split(/\s+/).filter(Boolean);
    const p = run(bin, [`--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, ...extra], 'sextant');
    procs.push(p);
    base = `http://127.0.0.1:${port}`;
    await waitFor(`${base}/-/ready`, 60000, p, 'sextant');
  }
  const context = await browser(dir);
  return {
    base, nodes, context, dir, backend, procs,
    async stop() {
      await context.close().catch(() => {});
      for (const p of procs) { if (p.exitCode === null) p.kill('SIGTERM'); }
      await Promise.all(procs.map((p) => (p.exitCode !== null ? null : new Promise((r) => { p.on('exit', r); setTimeout(r, 5000); }))));
      for (const s of servers) s.close();
      for (const n of nodes) n.server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls the series API until `count` series match `selector` (no PromQL needed). */
export async function waitForSeries(base, selector, count, ms = 30000) {
  const until = Date.now() + ms;
  let last = null;
  while (Date.now() < until) {
    try {
      const r = await (await fetch(`${base}/api/v1/series?match[]=${encodeURIComponent(selector)}`)).json();
      last = r;
      if (r.status === 'success' && r.data.length >= count) return r.data;
    } catch (e) { last = e.message; }
    await sleep(300);
  }
  throw new Error(`fewer than ${count} series for ${selector} after ${ms} ms: ${JSON.stringify(last).slice(0, 500)}`);
}

/** Polls an instant query until `ok(result)` or times out (to wait for scraped data). */
export async function waitForData(base, query, ok, ms = 30000) {
  const until = Date.now() + ms;
  let last = null;
  while (Date.now() < until) {
    try {
      const r = await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`)).json();
      last = r;
      if (r.status === 'success' && ok(r.data.result)) return r.data.result;
    } catch (e) { last = e.message; }
    await sleep(500);
  }
  throw new Error(`no data for ${query} after ${ms} ms: ${JSON.stringify(last).slice(0, 500)}`);
}
