// The beacon-chain dashboard, defined as data. The UI draws it (dashboard.js) and the same definition
// produces the Grafana provisioning file dashboards/grafana/beacon.json (grafana.js, tests/ui/gen-grafana.mjs).
// Expressions use Grafana's variable syntax ($job, $instance, $__rate_interval, $__interval) so they are
// identical in both; the UI substitutes the variables itself.
//
// Real clients stray from the spec (see tests/fixtures/beacon-conformance.md), hence the fallbacks:
//   `a or on(instance, job) b` takes b only for nodes that lack a.

/** Selector for the chosen nodes. */
const S = 'job=~"$job",instance=~"$instance"';

/** Metric names that identify a scraped beacon node (spec names and the clients' own). */
export const NODE_METRICS = ['beacon_head_slot', 'beacon_head_state_slot', 'beacon_finalized_epoch', 'libp2p_peers', 'p2p_peer_count'];

/** Head slot: spec name, else Lighthouse's own. */
const HEAD = `(beacon_head_slot{${S}} or on(instance, job) beacon_head_state_slot{${S}})`;
/** Finalized epoch with Lighthouse fallback. */
const FIN = `(beacon_finalized_epoch{${S}} or on(instance, job) beacon_head_state_finalized_epoch{${S}})`;
/** Peers: spec name, else Prysm's connected peer count. */
const PEERS = `(libp2p_peers{${S}} or on(instance, job) sum by (instance, job) (p2p_peer_count{${S},state="Connected"}))`;
/** Active validators: spec name, else Lighthouse's or Nimbus's. */
const ACTIVE = `(beacon_current_active_validators{${S}} or on(instance, job) beacon_head_state_active_validators_total{${S}} or on(instance, job) beacon_active_validators{${S}})`;
/** Slots a head metric is behind the wall clock, judged at the time it was scraped (so the scrape phase adds no jitter). */
const lagOf = (m) => `floor((timestamp(${m}{${S}}) - $genesis_time) / $seconds_per_slot) - ${m}{${S}}`;
const LAG = `(${lagOf('beacon_head_slot')} or on(instance, job) ${lagOf('beacon_head_state_slot')})`;

const q = (expr, legend = '{{instance}}') => ({ expr, legend });
/** The native histogram a classic histogram's `_bucket` series stand for (same family name). */
const nativeOf = (bucket) => bucket.replace(/_bucket$/, '');
/** The metrics a histogram panel looks for: the classic buckets, else the native histogram. */
const hist = (...buckets) => buckets.flatMap((b) => [b, nativeOf(b)]);
/** The p-quantile per node from classic buckets or, for a client exposing it natively, the native histogram. */
const quantileExpr = (p, bucket) => `histogram_quantile(${p}, sum by (instance, job, le) (rate(${bucket}{${S}}[$__rate_interval])))`
  + ` or histogram_quantile(${p}, sum by (instance, job) (rate(${nativeOf(bucket)}{${S}}[$__rate_interval])))`;
/** Bucket rates over all nodes, classic (by le) or native, for a heatmap. */
const heatmapExpr = (bucket) => `sum by (le) (rate(${bucket}{${S}}[$__rate_interval])) or sum(rate(${nativeOf(bucket)}{${S}}[$__rate_interval]))`;
const quantiles = (bucket) => [0.5, 0.9, 0.99].map((p) => q(quantileExpr(p, bucket), `{{instance}} p${p * 100}`));
const rateOf = (m) => q(`rate(${m}{${S}}[$__rate_interval])`);

/** The spec's minimal metrics and their types, for the conformance table. */
export const MINIMAL = [
  { name: 'libp2p_peers', type: 'gauge', alternatives: ['p2p_peer_count', 'connected_libp2p_peers'] },
  { name: 'beacon_head_slot', type: 'gauge', alternatives: ['beacon_head_state_slot'] },
  { name: 'beacon_finalized_epoch', type: 'gauge', alternatives: ['beacon_head_state_finalized_epoch'] },
  { name: 'beacon_current_justified_epoch', type: 'gauge', alternatives: ['beacon_head_state_current_justified_epoch'] },
  { name: 'beacon_previous_justified_epoch', type: 'gauge', alternatives: ['beacon_head_state_previous_justified_epoch'] },
  { name: 'beacon_current_active_validators', type: 'gauge', alternatives: ['beacon_head_state_active_validators_total', 'beacon_active_validators'] },
  { name: 'beacon_reorgs_total', type: 'counter', alternatives: ['beacon_fork_choice_reorg_total'] },
  { name: 'beacon_processed_deposits_total', type: 'gauge', alternatives: [] },
];

/** The spec's proposed (additional) metrics; histograms are found by their `_bucket` series. */
export const PROPOSED = [
  'beacon_current_validators', 'beacon_previous_validators', 'beacon_current_live_validators', 'beacon_previous_live_validators',
  'beacon_pending_deposits', 'beacon_pending_partial_withdrawals', 'beacon_pending_consolidations', 'beacon_pending_exits',
  'beacon_previous_epoch_orphaned_blocks',
  'gossipsub_mesh_peers_per_main_topic', 'beacon_attestation_delay_count', 'local_validator_count', 'store_beacon_block_cache_hit_total',
  'beacon_state_data_cache_misses_total', 'beacon_head_state_finalized_root', 'beacon_previous_justified_root',
  'beacon_aggregates_received_total', 'beacon_block_delay_count', 'beacon_attestor_slashing_received_total', 'beacon_block_proposed_total',
  'beacon_attestations_published_total', 'beacon_processor_gossip_block_imported_total', 'libp2p_pubsub_validation_failure_total',
  'beacon_head_state_root', 'beacon_attestations_received_total', 'beacon_attestor_slashing_created_total',
  'beacon_http_api_requests_total', 'beacon_http_api_successes_total', 'beacon_sync_state', 'process_cpu_seconds_total', 'process_max_fds',
];

/** Network presets: slot length, slots per epoch, genesis time (Unix seconds). */
export const NETWORKS = {
  mainnet: { seconds_per_slot: 12, slots_per_epoch: 32, genesis_time: 1606824023 },
  sepolia: { seconds_per_slot: 12, slots_per_epoch: 32, genesis_time: 1655733600 },
  holesky: { seconds_per_slot: 12, slots_per_epoch: 32, genesis_time: 1695902400 },
  hoodi: { seconds_per_slot: 12, slots_per_epoch: 32, genesis_time: 1742213400 },
  gnosis: { seconds_per_slot: 5, slots_per_epoch: 16, genesis_time: 1638993340 },
};

/**
 * Panels, grouped in rows. Panel fields:
 * - id, title, description; type: 'stat' | 'timeseries' | 'heatmap' (bucket series by `le`) | 'table' (one row per
 *   node, one column per query named by its legend, optional per-query thresholds) | 'conformance';
 * - queries: [{expr, legend}] (legend is a Grafana legend format);
 * - metrics: the metric names the panel reads, spec name first (for "missing from node" notes);
 * - minimal: true for the spec's minimal metrics (always shown; other panels hide when no node exposes them);
 * - typed: {metric, counter: queries, gauge: queries} when the right query depends on the metric's type;
 * - unit ('s', 'percent', 'ops', 'bytes'), stacked, style ('line' | 'points' | 'bars'), aggregate (no per-node series), wide;
 * - thresholds: {warn, bad, below} for stats: values at or above (at or below when `below`) are shown orange or red.
 */
export const BEACON = {
  uid: 'sextant-beacon',
  title: 'Beacon chain',
  description: 'Beacon node metrics of the Ethereum beacon-metrics specification, with fallbacks for clients that differ.',
  nodeMetrics: NODE_METRICS,
  /** While no node has reported, show one card on how to add one instead of the (empty) panels. */
  onboarding: true,
  rows: [
    {
      title: 'Overview',
      panels: [
        {
          id: 'nodes_table', type: 'table', wide: true, minimal: true, title: 'Nodes', metrics: ['beacon_head_slot', 'beacon_head_state_slot'],
          description: 'one row per node: the numbers an operator checks first',
          queries: [
            q(HEAD, 'Head slot'),
            { ...q(LAG, 'Slots behind'), thresholds: { warn: 2, bad: 32 } },
            { ...q(`floor(${HEAD} / $slots_per_epoch) - on(instance, job) ${FIN}`, 'Epochs to finality'), thresholds: { warn: 4, bad: 8 } },
            q(FIN, 'Finalized epoch'),
            { ...q(PEERS, 'Peers'), thresholds: { warn: 10, bad: 3, below: true } },
            q(ACTIVE, 'Active validators'),
            q(`beacon_sync_state{${S}}`, 'Sync state'),
            { ...q(`up{${S}}`, 'Up'), thresholds: { warn: 0, bad: 0, below: true } },
          ],
        },
        { id: 'stat_head_slot', type: 'stat', title: 'Head slot', minimal: true, metrics: ['beacon_head_slot', 'beacon_head_state_slot'], queries: [q(HEAD)] },
        { id: 'stat_sync_lag', type: 'stat', title: 'Slots behind wall clock', thresholds: { warn: 2, bad: 32 }, metrics: ['beacon_head_slot', 'beacon_head_state_slot'], minimal: true, queries: [q(LAG)] },
        { id: 'stat_finality_distance', type: 'stat', title: 'Epochs head to finality', thresholds: { warn: 4, bad: 8 }, minimal: true, metrics: ['beacon_head_slot', 'beacon_finalized_epoch'], queries: [q(`floor(${HEAD} / $slots_per_epoch) - on(instance, job) ${FIN}`)] },
        { id: 'stat_peers', type: 'stat', title: 'Peers', thresholds: { warn: 10, bad: 3, below: true }, minimal: true, metrics: ['libp2p_peers', 'p2p_peer_count'], queries: [q(PEERS)] },
        { id: 'stat_active_validators', type: 'stat', title: 'Active validators', minimal: true, metrics: ['beacon_current_active_validators', 'beacon_head_state_active_validators_total', 'beacon_active_validators'], queries: [q(ACTIVE)] },
        { id: 'stat_out_of_sync', type: 'stat', title: 'Nodes out of sync', thresholds: { warn: 1, bad: 2 }, aggregate: true, minimal: true, metrics: ['beacon_head_slot'], description: 'nodes more than 2 slots behind the wall clock', queries: [q(`count(${LAG} > 2) or vector(0)`, 'nodes')] },
      ],
    },
    {
      title: 'Chain',
      panels: [
        { id: 'head_slot', type: 'timeseries', title: 'Head slot', minimal: true, metrics: ['beacon_head_slot', 'beacon_head_state_slot'], queries: [q(HEAD)] },
        { id: 'head_lag_wall', type: 'timeseries', title: 'Head slot behind the wall-clock slot', minimal: true, metrics: ['beacon_head_slot', 'beacon_head_state_slot'], queries: [q(LAG)] },
        { id: 'head_lag_best', type: 'timeseries', title: 'Head slot behind the best node', minimal: true, metrics: ['beacon_head_slot', 'beacon_head_state_slot'], description: 'judged at scrape time, so nodes scraped at different moments do not jitter; independent of the genesis setting', queries: [q(`${LAG} - scalar(min(${LAG}))`)] },
        { id: 'finality_distance', type: 'timeseries', title: 'Distance from head to finality (epochs)', minimal: true, metrics: ['beacon_head_slot', 'beacon_finalized_epoch'], queries: [q(`floor(${HEAD} / $slots_per_epoch) - on(instance, job) ${FIN}`)] },
        { id: 'finalized_epoch', type: 'timeseries', title: 'Finalized epoch', minimal: true, metrics: ['beacon_finalized_epoch', 'beacon_head_state_finalized_epoch'], queries: [q(FIN)] },
        { id: 'current_justified_epoch', type: 'timeseries', title: 'Current justified epoch', minimal: true, metrics: ['beacon_current_justified_epoch', 'beacon_head_state_current_justified_epoch'], queries: [q(`beacon_current_justified_epoch{${S}} or on(instance, job) beacon_head_state_current_justified_epoch{${S}}`)] },
        { id: 'previous_justified_epoch', type: 'timeseries', title: 'Previous justified epoch', minimal: true, metrics: ['beacon_previous_justified_epoch', 'beacon_head_state_previous_justified_epoch'], queries: [q(`beacon_previous_justified_epoch{${S}} or on(instance, job) beacon_head_state_previous_justified_epoch{${S}}`)] },
        { id: 'sync_state', type: 'timeseries', title: 'Sync state (0 not syncing, 1 synced, 2 syncing)', metrics: ['beacon_sync_state'], queries: [q(`beacon_sync_state{${S}}`)] },
      ],
    },
    {
      title: 'Reorgs',
      panels: [
        {
          id: 'reorgs_rate', type: 'timeseries', title: 'Reorgs per second', unit: 'ops', minimal: true, metrics: ['beacon_reorgs_total'],
          description: 'rate() where beacon_reorgs_total is a counter, a clamped deriv() where a client exposes it as a gauge',
          queries: [q(`rate(beacon_reorgs_total{${S}}[$__rate_interval])`)],
          typed: {
            metric: 'beacon_reorgs_total',
            counter: [q(`rate(beacon_reorgs_total{${S}}[$__rate_interval])`)],
            gauge: [q(`clamp_min(deriv(beacon_reorgs_total{${S}}[$__rate_interval]), 0)`)],
          },
        },
        {
          id: 'reorgs_events', type: 'timeseries', style: 'bars', title: 'Reorg events', minimal: true, metrics: ['beacon_reorgs_total'],
          description: 'new reorgs per interval; works for the counter and the gauge form (a restart is not an event)',
          queries: [q(`(beacon_reorgs_total{${S}} - beacon_reorgs_total{${S}} offset $__interval) > 0`)],
        },
        { id: 'orphaned_blocks', type: 'timeseries', title: 'Orphaned blocks in the previous epoch', metrics: ['beacon_previous_epoch_orphaned_blocks'], queries: [q(`beacon_previous_epoch_orphaned_blocks{${S}}`)] },
      ],
    },
    {
      title: 'Network',
      panels: [
        { id: 'peers', type: 'timeseries', title: 'Peers per node', minimal: true, metrics: ['libp2p_peers', 'p2p_peer_count'], queries: [q(PEERS)] },
        { id: 'gossipsub_mesh', type: 'timeseries', title: 'Gossipsub mesh peers per main topic', metrics: ['gossipsub_mesh_peers_per_main_topic'], queries: [q(`gossipsub_mesh_peers_per_main_topic{${S}}`, '{{instance}} {{topic}}')] },
        { id: 'pubsub_validation_failures', type: 'timeseries', title: 'Pubsub validation failures', unit: 'ops', metrics: ['libp2p_pubsub_validation_failure_total'], queries: [rateOf('libp2p_pubsub_validation_failure_total')] },
      ],
    },
    {
      title: 'Validators',
      panels: [
        { id: 'active_validators', type: 'timeseries', title: 'Active validators', minimal: true, metrics: ['beacon_current_active_validators', 'beacon_head_state_active_validators_total', 'beacon_active_validators'], queries: [q(ACTIVE)] },
        { id: 'validators_by_status', type: 'timeseries', title: 'Validators by status (current epoch)', stacked: true, metrics: ['beacon_current_validators'], queries: [q(`beacon_current_validators{${S}}`, '{{instance}} {{status}}')] },
        { id: 'previous_validators_by_status', type: 'timeseries', title: 'Validators by status (previous epoch)', stacked: true, metrics: ['beacon_previous_validators'], queries: [q(`beacon_previous_validators{${S}}`, '{{instance}} {{status}}')] },
        { id: 'live_validators', type: 'timeseries', title: 'Live validators', metrics: ['beacon_current_live_validators', 'beacon_previous_live_validators'], queries: [q(`beacon_current_live_validators{${S}}`, '{{instance}} current'), q(`beacon_previous_live_validators{${S}}`, '{{instance}} previous')] },
        { id: 'local_validators', type: 'timeseries', title: 'Local validators', metrics: ['local_validator_count'], queries: [q(`local_validator_count{${S}}`)] },
      ],
    },
    {
      title: 'Deposits and exits',
      panels: [
        { id: 'processed_deposits', type: 'timeseries', title: 'Processed deposits', minimal: true, metrics: ['beacon_processed_deposits_total'], description: 'a gauge in the spec and in every client, despite the _total name', queries: [q(`beacon_processed_deposits_total{${S}}`)] },
        { id: 'pending_deposits', type: 'timeseries', title: 'Pending deposits', metrics: ['beacon_pending_deposits'], queries: [q(`beacon_pending_deposits{${S}}`)] },
        { id: 'pending_exits', type: 'timeseries', title: 'Pending voluntary exits', metrics: ['beacon_pending_exits'], queries: [q(`beacon_pending_exits{${S}}`)] },
        { id: 'pending_withdrawals_consolidations', type: 'timeseries', title: 'Pending partial withdrawals and consolidations', metrics: ['beacon_pending_partial_withdrawals', 'beacon_pending_consolidations'], queries: [q(`beacon_pending_partial_withdrawals{${S}}`, '{{instance}} partial withdrawals'), q(`beacon_pending_consolidations{${S}}`, '{{instance}} consolidations')] },
      ],
    },
    {
      title: 'Delays',
      panels: [
        { id: 'attestation_delay', type: 'timeseries', title: 'Attestation delay quantiles', unit: 's', metrics: hist('beacon_attestation_delay_count_bucket'), queries: quantiles('beacon_attestation_delay_count_bucket') },
        { id: 'block_delay', type: 'timeseries', title: 'Block delay quantiles', unit: 's', metrics: hist('beacon_block_delay_count_bucket'), queries: quantiles('beacon_block_delay_count_bucket') },
        { id: 'attestation_delay_heatmap', type: 'heatmap', title: 'Attestation delay heatmap (all nodes)', unit: 's', aggregate: true, metrics: hist('beacon_attestation_delay_count_bucket'), queries: [q(heatmapExpr('beacon_attestation_delay_count_bucket'), '{{le}}')] },
        { id: 'block_delay_heatmap', type: 'heatmap', title: 'Block delay heatmap (all nodes)', unit: 's', aggregate: true, metrics: hist('beacon_block_delay_count_bucket'), queries: [q(heatmapExpr('beacon_block_delay_count_bucket'), '{{le}}')] },
      ],
    },
    {
      title: 'Operations',
      panels: [
        { id: 'blocks_proposed', type: 'timeseries', title: 'Blocks proposed', unit: 'ops', metrics: ['beacon_block_proposed_total'], queries: [rateOf('beacon_block_proposed_total')] },
        { id: 'blocks_imported', type: 'timeseries', title: 'Gossip blocks imported', unit: 'ops', metrics: ['beacon_processor_gossip_block_imported_total'], queries: [rateOf('beacon_processor_gossip_block_imported_total')] },
        { id: 'attestations', type: 'timeseries', title: 'Attestations published and received', unit: 'ops', metrics: ['beacon_attestations_published_total', 'beacon_attestations_received_total'], queries: [q(`rate(beacon_attestations_published_total{${S}}[$__rate_interval])`, '{{instance}} published'), q(`rate(beacon_attestations_received_total{${S}}[$__rate_interval])`, '{{instance}} received')] },
        { id: 'aggregates_received', type: 'timeseries', title: 'Aggregates received', unit: 'ops', metrics: ['beacon_aggregates_received_total'], queries: [rateOf('beacon_aggregates_received_total')] },
        { id: 'slashings', type: 'timeseries', title: 'Attester slashings received and created', unit: 'ops', metrics: ['beacon_attestor_slashing_received_total', 'beacon_attestor_slashing_created_total'], queries: [q(`rate(beacon_attestor_slashing_received_total{${S}}[$__rate_interval])`, '{{instance}} received'), q(`rate(beacon_attestor_slashing_created_total{${S}}[$__rate_interval])`, '{{instance}} created')] },
        { id: 'caches', type: 'timeseries', title: 'Block cache hits and state cache misses', unit: 'ops', metrics: ['store_beacon_block_cache_hit_total', 'beacon_state_data_cache_misses_total'], queries: [q(`rate(store_beacon_block_cache_hit_total{${S}}[$__rate_interval])`, '{{instance}} block cache hits'), q(`rate(beacon_state_data_cache_misses_total{${S}}[$__rate_interval])`, '{{instance}} state cache misses')] },
        { id: 'root_changes', type: 'timeseries', title: 'Head and finalized root changes', metrics: ['beacon_head_state_root', 'beacon_head_state_finalized_root', 'beacon_previous_justified_root'], queries: [q(`changes(beacon_head_state_root{${S}}[$__rate_interval])`, '{{instance}} head root'), q(`changes(beacon_head_state_finalized_root{${S}}[$__rate_interval])`, '{{instance}} finalized root'), q(`changes(beacon_previous_justified_root{${S}}[$__rate_interval])`, '{{instance}} previous justified root')] },
      ],
    },
    {
      title: 'HTTP API and process',
      panels: [
        { id: 'http_requests', type: 'timeseries', title: 'HTTP API requests and successes', unit: 'ops', metrics: ['beacon_http_api_requests_total', 'beacon_http_api_successes_total'], queries: [q(`rate(beacon_http_api_requests_total{${S}}[$__rate_interval])`, '{{instance}} requests'), q(`rate(beacon_http_api_successes_total{${S}}[$__rate_interval])`, '{{instance}} successes')] },
        { id: 'http_success_ratio', type: 'timeseries', title: 'HTTP API success ratio', unit: 'percent', metrics: ['beacon_http_api_successes_total', 'beacon_http_api_requests_total'], queries: [q(`rate(beacon_http_api_successes_total{${S}}[$__rate_interval]) / on(instance, job) rate(beacon_http_api_requests_total{${S}}[$__rate_interval])`)] },
        { id: 'process_cpu', type: 'timeseries', title: 'Process CPU (cores)', metrics: ['process_cpu_seconds_total'], queries: [rateOf('process_cpu_seconds_total')] },
        { id: 'process_fds', type: 'timeseries', title: 'File descriptors (open and max)', metrics: ['process_max_fds', 'process_open_fds'], queries: [q(`process_open_fds{${S}}`, '{{instance}} open'), q(`process_max_fds{${S}}`, '{{instance}} max')] },
      ],
    },
    {
      title: 'PeerDAS',
      panels: [
        { id: 'das_sidecars', type: 'timeseries', title: 'Data column sidecars submitted and verified', unit: 'ops', metrics: ['beacon_data_column_sidecar_processing_requests_total', 'beacon_data_column_sidecar_processing_successes_total'], queries: [q(`rate(beacon_data_column_sidecar_processing_requests_total{${S}}[$__rate_interval])`, '{{instance}} submitted'), q(`rate(beacon_data_column_sidecar_processing_successes_total{${S}}[$__rate_interval])`, '{{instance}} verified')] },
        { id: 'das_gossip_verification', type: 'timeseries', title: 'Data column gossip verification time', unit: 's', metrics: hist('beacon_data_column_sidecar_gossip_verification_seconds_bucket'), queries: quantiles('beacon_data_column_sidecar_gossip_verification_seconds_bucket') },
        { id: 'das_reconstructed', type: 'timeseries', title: 'Reconstructed columns', unit: 'ops', metrics: ['beacon_data_availability_reconstructed_columns_total'], queries: [rateOf('beacon_data_availability_reconstructed_columns_total')] },
        { id: 'das_reconstruction_time', type: 'timeseries', title: 'Column reconstruction time', unit: 's', metrics: hist('beacon_data_availability_reconstruction_time_seconds_bucket'), queries: quantiles('beacon_data_availability_reconstruction_time_seconds_bucket') },
        { id: 'das_compute_verify', type: 'timeseries', title: 'Sidecar computation, inclusion proof and KZG batch verification (p90)', unit: 's', metrics: hist('beacon_data_column_sidecar_computation_seconds_bucket', 'beacon_data_column_sidecar_inclusion_proof_verification_seconds_bucket', 'beacon_kzg_verification_data_column_batch_seconds_bucket'), queries: [['computation', 'beacon_data_column_sidecar_computation_seconds_bucket'], ['inclusion proof', 'beacon_data_column_sidecar_inclusion_proof_verification_seconds_bucket'], ['kzg batch', 'beacon_kzg_verification_data_column_batch_seconds_bucket']].map(([what, b]) => q(quantileExpr(0.9, b), `{{instance}} ${what}`)) },
        { id: 'custody_groups', type: 'timeseries', title: 'Custody groups (total and backfilled)', metrics: ['beacon_custody_groups', 'beacon_custody_groups_backfilled'], queries: [q(`beacon_custody_groups{${S}}`, '{{instance}} custody'), q(`beacon_custody_groups_backfilled{${S}}`, '{{instance}} backfilled')] },
        { id: 'get_blobs', type: 'timeseries', title: 'engine_getBlobsV2 requests and responses', unit: 'ops', metrics: ['beacon_engine_getBlobsV2_requests_total', 'beacon_engine_getBlobsV2_responses_total'], queries: [q(`rate(beacon_engine_getBlobsV2_requests_total{${S}}[$__rate_interval])`, '{{instance}} requests'), q(`rate(beacon_engine_getBlobsV2_responses_total{${S}}[$__rate_interval])`, '{{instance}} responses')] },
        { id: 'get_blobs_duration', type: 'timeseries', title: 'engine_getBlobsV2 duration', unit: 's', metrics: hist('beacon_engine_getBlobsV2_request_duration_seconds_bucket'), queries: quantiles('beacon_engine_getBlobsV2_request_duration_seconds_bucket') },
      ],
    },
    {
      title: 'Inclusion lists (FOCIL)',
      panels: [
        { id: 'il_validation', type: 'timeseries', title: 'Inclusion lists validated', unit: 'ops', metrics: ['beacon_inclusion_lists_valid_total', 'beacon_inclusion_lists_invalid_total'], queries: [q(`sum by (instance, job, source) (rate(beacon_inclusion_lists_valid_total{${S}}[$__rate_interval]))`, '{{instance}} valid {{source}}'), q(`sum by (instance, job, source) (rate(beacon_inclusion_lists_invalid_total{${S}}[$__rate_interval]))`, '{{instance}} invalid {{source}}')] },
        { id: 'il_traffic', type: 'timeseries', title: 'Inclusion lists received and published', unit: 'ops', metrics: ['beacon_inclusion_lists_received_total', 'beacon_inclusion_lists_published_total', 'beacon_inclusion_list_transactions_received_total'], queries: [q(`sum by (instance, job) (rate(beacon_inclusion_lists_received_total{${S}}[$__rate_interval]))`, '{{instance}} received'), q(`rate(beacon_inclusion_lists_published_total{${S}}[$__rate_interval])`, '{{instance}} published'), q(`sum by (instance, job) (rate(beacon_inclusion_list_transactions_received_total{${S}}[$__rate_interval]))`, '{{instance}} transactions received')] },
        { id: 'il_bytes', type: 'timeseries', title: 'Inclusion list bytes validated', unit: 'bytes', metrics: ['beacon_inclusion_lists_valid_size_bytes_total', 'beacon_inclusion_lists_invalid_size_bytes_total'], queries: [q(`rate(beacon_inclusion_lists_valid_size_bytes_total{${S}}[$__rate_interval])`, '{{instance}} valid'), q(`rate(beacon_inclusion_lists_invalid_size_bytes_total{${S}}[$__rate_interval])`, '{{instance}} invalid')] },
        { id: 'il_validation_time', type: 'timeseries', title: 'Inclusion list validation time', unit: 's', metrics: hist('beacon_inclusion_lists_validation_time_seconds_bucket'), queries: quantiles('beacon_inclusion_lists_validation_time_seconds_bucket') },
        { id: 'il_arrival', type: 'timeseries', title: 'Inclusion list arrival time into the slot', unit: 's', metrics: hist('beacon_inclusion_lists_arrival_time_seconds_bucket'), queries: quantiles('beacon_inclusion_lists_arrival_time_seconds_bucket') },
        { id: 'il_fork_choice', type: 'timeseries', title: 'Equivocating lists and unsatisfied blocks', unit: 'ops', metrics: ['beacon_inclusion_lists_equivocating_total', 'beacon_inclusion_list_unsatisfied_blocks_total'], queries: [q(`rate(beacon_inclusion_lists_equivocating_total{${S}}[$__rate_interval])`, '{{instance}} equivocating'), q(`rate(beacon_inclusion_list_unsatisfied_blocks_total{${S}}[$__rate_interval])`, '{{instance}} unsatisfied blocks')] },
        { id: 'il_payload_transactions', type: 'timeseries', title: 'Inclusion list transactions sent to the execution layer', unit: 'ops', metrics: ['beacon_inclusion_list_transactions_notify_new_payload_total', 'beacon_inclusion_list_transactions_prepare_execution_payload_total'], queries: [q(`rate(beacon_inclusion_list_transactions_notify_new_payload_total{${S}}[$__rate_interval])`, '{{instance}} new payload'), q(`rate(beacon_inclusion_list_transactions_prepare_execution_payload_total{${S}}[$__rate_interval])`, '{{instance}} prepare payload')] },
        { id: 'il_engine', type: 'timeseries', title: 'engine_getInclusionListV1 requests and duration (p90)', metrics: ['beacon_engine_getInclusionListV1_requests_total', ...hist('beacon_engine_getInclusionListV1_requests_duration_seconds_bucket')], queries: [q(`rate(beacon_engine_getInclusionListV1_requests_total{${S}}[$__rate_interval])`, '{{instance}} requests/s'), q(quantileExpr(0.9, 'beacon_engine_getInclusionListV1_requests_duration_seconds_bucket'), '{{instance}} p90 seconds')] },
      ],
    },
    {
      title: 'Spec conformance',
      panels: [
        {
          id: 'conformance', type: 'conformance', wide: true, title: 'Minimal metrics exposed per node', aggregate: true,
          description: 'which of the spec\'s minimal metrics each node exposes, with which type',
          metrics: MINIMAL.map((m) => m.name),
          queries: [q(`count by (instance, job, __name__) ({__name__=~"${MINIMAL.map((m) => m.name).join('|')}",${S}})`, '{{instance}} {{__name__}}')],
        },
      ],
    },
  ],
};

/** Every panel of a dashboard, flattened. */
export const allPanels = (def) => def.rows.flatMap((r) => r.panels);

/** Every metric name the dashboard reads (for presence look-ups). */
export function allMetrics(def) {
  const names = new Set(def.nodeMetrics);
  for (const p of allPanels(def)) for (const m of p.metrics || []) names.add(m);
  if (allPanels(def).some((p) => p.type === 'conformance')) {
    for (const m of MINIMAL) { names.add(m.name); for (const a of m.alternatives) names.add(a); }
    for (const m of PROPOSED) { names.add(m); names.add(`${m}_bucket`); }
  }
  return [...names].sort();
}
