// Simulated beacon nodes for the browser tests: each serves Prometheus text exposition on a loopback
// port, shaped like a real client (see tests/fixtures/beacon-conformance.md):
//   - "spec":   every minimal metric with the spec's names and types, plus many proposed metrics;
//   - "prysm":  peers as p2p_peer_count{state}, no libp2p_peers; lags 6 slots behind the wall clock;
//   - "nimbus": beacon_reorgs_total declared as a gauge, no beacon_processed_deposits_total.
// Slots follow mainnet's wall clock (12 s slots, 32-slot epochs) so "slots behind" panels are real.
import http from 'node:http';

export const GENESIS = 1606824023;
const SLOT = 12;

function family(lines, name, type, help, samples) {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, v] of samples) lines.push(`${name}${labels} ${v}`);
}

function histogram(lines, name, help, observations) {
  const bounds = [0.5, 1, 2, 4, 8];
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  let sum = 0;
  for (const le of bounds) lines.push(`${name}_bucket{le="${le}"} ${observations.filter((o) => o <= le).length}`);
  for (const o of observations) sum += o;
  lines.push(`${name}_bucket{le="+Inf"} ${observations.length}`, `${name}_sum ${sum}`, `${name}_count ${observations.length}`);
}

/** Exposition text of a node of `flavour` at time `nowSec`; `state` keeps counters between scrapes. */
export function exposition(flavour, nowSec, state) {
  const lag = flavour === 'prysm' ? 6 : 0;
  const head = Math.floor((nowSec - GENESIS) / SLOT) - lag;
  const epoch = Math.floor(head / 32);
  state.scrapes = (state.scrapes || 0) + 1;
  if (state.scrapes % 4 === 0) state.reorgs = (state.reorgs || 0) + 1; // a reorg every 4 scrapes: visible in short tests
  state.obs = state.obs || [];
  state.obs.push(0.3 + ((state.scrapes * 7) % 10) / 5);
  const peers = 50 + ((state.scrapes * 3) % 11) + (flavour === 'nimbus' ? 20 : 0);
  const L = [];
  if (flavour === 'prysm') family(L, 'p2p_peer_count', 'gauge', 'peers by state', [['{state="Connected"}', peers], ['{state="Disconnected"}', 3]]);
  else family(L, 'libp2p_peers', 'gauge', 'Tracks the total number of libp2p peers', [['', peers]]);
  family(L, 'beacon_head_slot', 'gauge', 'Latest slot of the beacon chain', [['', head]]);
  family(L, 'beacon_finalized_epoch', 'gauge', 'Current finalized epoch', [['', epoch - 2]]);
  family(L, 'beacon_current_justified_epoch', 'gauge', 'Current justified epoch', [['', epoch - 1]]);
  family(L, 'beacon_previous_justified_epoch', 'gauge', 'Current previously justified epoch', [['', epoch - 2]]);
  family(L, 'beacon_current_active_validators', 'gauge', 'Current total active validators', [['', 1000000 + epoch % 100]]);
  family(L, 'beacon_reorgs_total', flavour === 'nimbus' ? 'gauge' : 'counter', 'Total number of chain reorganizations', [['', state.reorgs || 0]]);
  if (flavour !== 'nimbus') family(L, 'beacon_processed_deposits_total', 'gauge', 'Total number of deposits processed', [['', 1500000 + epoch]]);
  if (flavour === 'spec') {
    family(L, 'beacon_current_validators', 'gauge', 'validators by status', [
      ['{status="active"}', 1000000], ['{status="pending"}', 5000], ['{status="exited"}', 20000], ['{status="withdrawable"}', 300]]);
    family(L, 'beacon_pending_deposits', 'gauge', 'Number of pending deposits', [['', 40 + (state.scrapes % 5)]]);
    family(L, 'beacon_sync_state', 'gauge', 'Beacon sync state', [['', 1]]);
    family(L, 'beacon_http_api_requests_total', 'gauge', 'HTTP API requests', [['', state.scrapes * 10]]);
    family(L, 'beacon_http_api_successes_total', 'gauge', 'HTTP API successes', [['', state.scrapes * 9]]);
    histogram(L, 'beacon_block_delay_count', 'Block delay', state.obs);
  }
  family(L, 'process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', [['', (state.scrapes * 0.05).toFixed(2)]]);
  family(L, 'process_max_fds', 'gauge', 'Maximum number of open file descriptors.', [['', 65536]]);
  family(L, 'process_open_fds', 'gauge', 'Number of open file descriptors.', [['', 120 + (state.scrapes % 7)]]);
  return L.join('\n') + '\n';
}

/** Starts one HTTP server per flavour on 127.0.0.1; resolves to [{flavour, port, server}]. */
export async function startNodes(flavours = ['spec', 'prysm', 'nimbus']) {
  return Promise.all(flavours.map((flavour) => new Promise((resolve, reject) => {
    const state = {};
    const server = http.createServer((req, res) => {
      if (req.url !== '/metrics') { res.writeHead(404); res.end('not found\n'); return; }
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(exposition(flavour, Date.now() / 1000, state));
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ flavour, port: server.address().port, server }));
  })));
}
