// The "Sextant" dashboard: Sextant watching itself through the metrics of its own /metrics, which the
// embedded default configuration scrapes (job "sextant"). Defined as data like the beacon dashboard
// (beacon.js): the UI draws it (dashboard.js) and grafana.js turns it into dashboards/grafana/sextant.json
// (tests/ui/gen-grafana.mjs). Names are Prometheus' where they exist (prometheus_tsdb_*, prometheus_engine_*,
// prometheus_http_*), so the same panels also work on a Prometheus server, and sextant_* otherwise.

/** Selector for the chosen Sextant instances. */
const S = 'job=~"$job",instance=~"$instance"';

const q = (expr, legend = '{{instance}}') => ({ expr, legend });
const rate = (m, extra = '') => `rate(${m}{${S}${extra}}[$__rate_interval])`;
/** p50/p90/p99 of a histogram, per instance and the `by` labels. */
const quantiles = (bucket, by = '', what = '') => [0.5, 0.9, 0.99].map((p) => q(
  `histogram_quantile(${p}, sum by (instance, job, ${by ? `${by}, ` : ''}le) (${rate(bucket)}))`,
  `{{instance}}${what}${by ? ` {{${by}}}` : ''} p${p * 100}`));
/** One quantile of a histogram per value of `by`. */
const quantileBy = (p, bucket, by) => q(
  `histogram_quantile(${p}, sum by (instance, job, ${by}, le) (${rate(bucket)}))`, `{{instance}} {{${by}}}`);

/** A Sextant instance is a scraped target exposing this. */
export const SEXTANT_NODE_METRICS = ['sextant_build_info'];

export const SEXTANT = {
  uid: 'sextant-self',
  title: 'Sextant',
  description: 'Sextant observing itself: ingestion, storage, queries, HTTP and process figures from its own /metrics.',
  tags: ['sextant', 'self-monitoring'],
  nodeMetrics: SEXTANT_NODE_METRICS,
  nodeNoun: 'Sextant instance',
  network: false,
  rows: [
    {
      title: 'Overview',
      panels: [
        { id: 'sx_up', type: 'stat', title: 'Up', minimal: true, thresholds: { warn: 0, bad: 0, below: true }, metrics: ['up'], queries: [q(`up{${S}}`)] },
        { id: 'sx_version', type: 'stat', title: 'Version', minimal: true, metrics: ['sextant_build_info'], description: 'the version is in the legend', queries: [q(`sextant_build_info{${S}}`, '{{instance}} {{version}}')] },
        { id: 'sx_uptime', type: 'stat', title: 'Uptime', unit: 's', minimal: true, metrics: ['process_start_time_seconds'], queries: [q(`time() - process_start_time_seconds{${S}}`)] },
        { id: 'sx_stat_series', type: 'stat', title: 'Head series', minimal: true, metrics: ['prometheus_tsdb_head_series'], queries: [q(`prometheus_tsdb_head_series{${S}}`)] },
        { id: 'sx_stat_ingest', type: 'stat', title: 'Samples appended per second', unit: 'ops', minimal: true, metrics: ['sextant_ingest_samples_appended_total'], queries: [q(`sum by (instance, job) (${rate('sextant_ingest_samples_appended_total')})`)] },
        { id: 'sx_stat_disk', type: 'stat', title: 'Bytes on disk', unit: 'bytes', minimal: true, metrics: ['sextant_tsdb_disk_bytes'], queries: [q(`sextant_tsdb_disk_bytes{${S}}`)] },
      ],
    },
    {
      title: 'Ingestion',
      panels: [
        { id: 'sx_ingest_protocol', type: 'timeseries', title: 'Samples appended per protocol', unit: 'ops', stacked: true, minimal: true, metrics: ['sextant_ingest_samples_appended_total'], queries: [q(`sum by (instance, job, protocol) (${rate('sextant_ingest_samples_appended_total')})`, '{{instance}} {{protocol}}')] },
        {
          id: 'sx_ingest_requests', type: 'timeseries', title: 'Push requests and scrapes (committed and failed)', unit: 'ops', minimal: true, metrics: ['sextant_ingest_requests_total', 'sextant_ingest_requests_failed_total'],
          queries: [q(`sum by (instance, job, protocol) (${rate('sextant_ingest_requests_total')}) > 0`, '{{instance}} {{protocol}}'), q(`sum by (instance, job, protocol) (${rate('sextant_ingest_requests_failed_total')}) > 0`, '{{instance}} {{protocol}} failed')],
        },
        { id: 'sx_series_churn', type: 'timeseries', title: 'Head series created and removed', unit: 'ops', minimal: true, metrics: ['prometheus_tsdb_head_series_created_total', 'prometheus_tsdb_head_series_removed_total'], queries: [q(rate('prometheus_tsdb_head_series_created_total'), '{{instance}} created'), q(rate('prometheus_tsdb_head_series_removed_total'), '{{instance}} removed')] },
        {
          id: 'sx_refused', type: 'timeseries', title: 'Samples refused by storage', unit: 'ops', minimal: true, metrics: ['prometheus_tsdb_out_of_order_samples_total', 'prometheus_tsdb_out_of_bound_samples_total', 'sextant_tsdb_duplicate_samples_total'],
          description: 'out of order beyond the window, older than the head, or a second value at one timestamp',
          queries: [q(rate('prometheus_tsdb_out_of_order_samples_total'), '{{instance}} out of order'), q(rate('prometheus_tsdb_out_of_bound_samples_total'), '{{instance}} out of bounds'), q(rate('sextant_tsdb_duplicate_samples_total'), '{{instance}} duplicate')],
        },
        { id: 'sx_ooo_accepted', type: 'timeseries', title: 'Out-of-order samples accepted', unit: 'ops', minimal: true, metrics: ['prometheus_tsdb_head_out_of_order_samples_appended_total'], queries: [q(rate('prometheus_tsdb_head_out_of_order_samples_appended_total'))] },
      ],
    },
    {
      title: 'Scrapes',
      panels: [
        { id: 'sx_targets', type: 'timeseries', title: 'Scrape targets by health', stacked: true, minimal: true, metrics: ['sextant_scrape_targets'], description: 'the scraped jobs are in exported_job', queries: [q(`sum by (instance, job, health) (sextant_scrape_targets{${S}})`, '{{instance}} {{health}}')] },
        { id: 'sx_scrape_duration', type: 'timeseries', title: 'Scrape duration (all targets)', unit: 's', minimal: true, metrics: ['sextant_scrape_duration_seconds_bucket'], queries: quantiles('sextant_scrape_duration_seconds_bucket') },
      ],
    },
    {
      title: 'Queries',
      panels: [
        { id: 'sx_query_rate', type: 'timeseries', title: 'Queries per second', unit: 'ops', minimal: true, metrics: ['sextant_query_duration_seconds_count'], queries: [q(`sum by (instance, job, kind) (${rate('sextant_query_duration_seconds_count')})`, '{{instance}} {{kind}}')] },
        { id: 'sx_query_duration', type: 'timeseries', title: 'Query duration p90', unit: 's', minimal: true, metrics: ['sextant_query_duration_seconds_bucket'], queries: [quantileBy(0.9, 'sextant_query_duration_seconds_bucket', 'kind')] },
        { id: 'sx_query_stages', type: 'timeseries', title: 'Query stages p90 (queue, parse, evaluation, sort)', unit: 's', minimal: true, metrics: ['prometheus_engine_query_duration_seconds'], queries: [q(`prometheus_engine_query_duration_seconds{${S},quantile="0.9"}`, '{{instance}} {{slice}}')] },
        { id: 'sx_query_samples', type: 'timeseries', title: 'Samples loaded by queries', unit: 'ops', minimal: true, metrics: ['prometheus_engine_query_samples_total'], queries: [q(rate('prometheus_engine_query_samples_total'))] },
        { id: 'sx_query_failures', type: 'timeseries', title: 'Failed queries', unit: 'ops', minimal: true, metrics: ['sextant_query_failures_total'], queries: [q(`sum by (instance, job, kind) (${rate('sextant_query_failures_total')})`, '{{instance}} {{kind}}')] },
        { id: 'sx_queries_in_flight', type: 'timeseries', title: 'Queries in flight and concurrency limit', minimal: true, metrics: ['prometheus_engine_queries', 'prometheus_engine_queries_concurrent_max'], queries: [q(`prometheus_engine_queries{${S}}`, '{{instance}} in flight'), q(`prometheus_engine_queries_concurrent_max{${S}}`, '{{instance}} limit')] },
      ],
    },
    {
      title: 'HTTP',
      panels: [
        { id: 'sx_http_requests', type: 'timeseries', title: 'Requests by handler', unit: 'ops', minimal: true, metrics: ['prometheus_http_requests_total'], queries: [q(`sum by (instance, job, handler) (${rate('prometheus_http_requests_total')}) > 0`, '{{instance}} {{handler}}')] },
        { id: 'sx_http_errors', type: 'timeseries', title: 'Error responses by code', unit: 'ops', minimal: true, metrics: ['prometheus_http_requests_total'], queries: [q(`sum by (instance, job, code) (${rate('prometheus_http_requests_total', ',code=~"4..|5.."')})`, '{{instance}} {{code}}')] },
        { id: 'sx_http_latency', type: 'timeseries', title: 'Request latency p90 by handler', unit: 's', minimal: true, metrics: ['prometheus_http_request_duration_seconds_bucket'], queries: [quantileBy(0.9, 'prometheus_http_request_duration_seconds_bucket', 'handler')] },
      ],
    },
    {
      title: 'Storage',
      panels: [
        { id: 'sx_head_series', type: 'timeseries', title: 'Head series', minimal: true, metrics: ['prometheus_tsdb_head_series'], queries: [q(`prometheus_tsdb_head_series{${S}}`)] },
        { id: 'sx_head_chunks', type: 'timeseries', title: 'Head chunks and samples', minimal: true, metrics: ['prometheus_tsdb_head_chunks', 'sextant_tsdb_head_samples'], queries: [q(`prometheus_tsdb_head_chunks{${S}}`, '{{instance}} chunks'), q(`sextant_tsdb_head_samples{${S}}`, '{{instance}} samples')] },
        { id: 'sx_appended', type: 'timeseries', title: 'Samples appended to the head', unit: 'ops', minimal: true, metrics: ['prometheus_tsdb_head_samples_appended_total'], queries: [q(rate('prometheus_tsdb_head_samples_appended_total'))] },
        { id: 'sx_disk', type: 'timeseries', title: 'Bytes on disk (WAL and blocks)', unit: 'bytes', stacked: true, minimal: true, metrics: ['prometheus_tsdb_wal_storage_size_bytes', 'prometheus_tsdb_storage_blocks_bytes'], queries: [q(`prometheus_tsdb_wal_storage_size_bytes{${S}}`, '{{instance}} WAL'), q(`prometheus_tsdb_storage_blocks_bytes{${S}}`, '{{instance}} blocks')] },
        { id: 'sx_blocks', type: 'timeseries', title: 'Blocks loaded', minimal: true, metrics: ['prometheus_tsdb_blocks_loaded'], queries: [q(`prometheus_tsdb_blocks_loaded{${S}}`)] },
        { id: 'sx_fsync', type: 'timeseries', title: 'WAL fsync duration', unit: 's', minimal: true, metrics: ['prometheus_tsdb_wal_fsync_duration_seconds'], queries: ['0.9', '0.99'].map((p) => q(`prometheus_tsdb_wal_fsync_duration_seconds{${S},quantile="${p}"}`, `{{instance}} p${Number(p) * 100}`)) },
        { id: 'sx_compactions', type: 'timeseries', title: 'Compactions (head cuts and merges)', unit: 'ops', minimal: true, metrics: ['prometheus_tsdb_compactions_total', 'prometheus_tsdb_compactions_failed_total'], queries: [q(rate('prometheus_tsdb_compactions_total'), '{{instance}} done'), q(rate('prometheus_tsdb_compactions_failed_total'), '{{instance}} failed')] },
        { id: 'sx_compaction_duration', type: 'timeseries', title: 'Compaction duration p90', unit: 's', minimal: true, metrics: ['prometheus_tsdb_compaction_duration_seconds_bucket'], description: 'no points until a block range (2 h) has been cut', queries: [q(`histogram_quantile(0.9, sum by (instance, job, le) (${rate('prometheus_tsdb_compaction_duration_seconds_bucket')}))`)] },
        { id: 'sx_replay', type: 'stat', title: 'WAL replay at start', unit: 's', minimal: true, metrics: ['prometheus_tsdb_data_replay_duration_seconds'], queries: [q(`prometheus_tsdb_data_replay_duration_seconds{${S}}`)] },
        { id: 'sx_wal_failures', type: 'stat', title: 'WAL write failures', minimal: true, thresholds: { warn: 1, bad: 1 }, metrics: ['prometheus_tsdb_wal_writes_failed_total'], queries: [q(`prometheus_tsdb_wal_writes_failed_total{${S}}`)] },
      ],
    },
    {
      title: 'Rejections',
      panels: [
        { id: 'sx_rejected_samples', type: 'timeseries', title: 'Pushed samples refused by reason', unit: 'ops', metrics: ['sextant_ingest_rejected_samples_total'], description: 'shown once something was refused', queries: [q(`sum by (instance, job, protocol, reason) (${rate('sextant_ingest_rejected_samples_total')})`, '{{instance}} {{protocol}} {{reason}}')] },
        { id: 'sx_rejected_requests', type: 'timeseries', title: 'Push requests refused by reason', unit: 'ops', metrics: ['sextant_ingest_rejected_requests_total'], queries: [q(`sum by (instance, job, protocol, reason) (${rate('sextant_ingest_rejected_requests_total')})`, '{{instance}} {{protocol}} {{reason}}')] },
        { id: 'sx_rejected_queries', type: 'timeseries', title: 'Queries stopped by a limit', unit: 'ops', metrics: ['sextant_query_rejected_total'], queries: [q(`sum by (instance, job, reason) (${rate('sextant_query_rejected_total')})`, '{{instance}} {{reason}}')] },
        { id: 'sx_rejected_http', type: 'timeseries', title: 'HTTP requests refused (auth, rate limit)', unit: 'ops', metrics: ['sextant_http_rejected_requests_total'], queries: [q(`sum by (instance, job, reason) (${rate('sextant_http_rejected_requests_total')})`, '{{instance}} {{reason}}')] },
      ],
    },
    {
      title: 'Forwarding (remote write)',
      panels: [
        {
          id: 'sx_forward_samples', type: 'timeseries', title: 'Samples forwarded, failed, retried, dropped', unit: 'ops', metrics: ['prometheus_remote_storage_samples_total'],
          queries: [
            q(`sum by (instance, job, remote_name) (${rate('prometheus_remote_storage_samples_total')})`, '{{instance}} {{remote_name}} sent'),
            q(`sum by (instance, job, remote_name) (${rate('prometheus_remote_storage_samples_failed_total')})`, '{{instance}} {{remote_name}} failed'),
            q(`sum by (instance, job, remote_name) (${rate('prometheus_remote_storage_samples_retried_total')})`, '{{instance}} {{remote_name}} retried'),
            q(`sum by (instance, job, remote_name) (${rate('prometheus_remote_storage_samples_dropped_total')})`, '{{instance}} {{remote_name}} dropped'),
          ],
        },
        { id: 'sx_forward_lag', type: 'timeseries', title: 'Forwarding lag (newest read minus newest sent)', unit: 's', metrics: ['prometheus_remote_storage_queue_highest_timestamp_seconds'], queries: [q(`prometheus_remote_storage_queue_highest_timestamp_seconds{${S}} - prometheus_remote_storage_queue_highest_sent_timestamp_seconds{${S}}`, '{{instance}} {{remote_name}}')] },
        { id: 'sx_forward_pending', type: 'timeseries', title: 'Samples pending and shards', metrics: ['prometheus_remote_storage_samples_pending', 'prometheus_remote_storage_shards'], queries: [q(`prometheus_remote_storage_samples_pending{${S}}`, '{{instance}} {{remote_name}} pending'), q(`prometheus_remote_storage_shards{${S}}`, '{{instance}} {{remote_name}} shards')] },
      ],
    },
    {
      title: 'Rules',
      panels: [
        { id: 'sx_rule_evals', type: 'timeseries', title: 'Rule evaluations and failures', unit: 'ops', metrics: ['prometheus_rule_evaluations_total', 'prometheus_rule_evaluation_failures_total'], queries: [q(`sum by (instance, job) (${rate('prometheus_rule_evaluations_total')})`, '{{instance}} evaluations'), q(`sum by (instance, job) (${rate('prometheus_rule_evaluation_failures_total')})`, '{{instance}} failures')] },
        { id: 'sx_rule_duration', type: 'timeseries', title: 'Rule group evaluation duration', unit: 's', metrics: ['prometheus_rule_group_last_duration_seconds'], queries: [q(`prometheus_rule_group_last_duration_seconds{${S}}`, '{{instance}} {{rule_group}}')] },
      ],
    },
    {
      title: 'Process',
      panels: [
        { id: 'sx_cpu', type: 'timeseries', title: 'CPU (cores)', minimal: true, metrics: ['process_cpu_seconds_total'], queries: [q(rate('process_cpu_seconds_total'))] },
        { id: 'sx_memory', type: 'timeseries', title: 'Resident memory', unit: 'bytes', minimal: true, metrics: ['process_resident_memory_bytes'], queries: [q(`process_resident_memory_bytes{${S}}`)] },
        { id: 'sx_fds', type: 'timeseries', title: 'File descriptors (open and max)', minimal: true, metrics: ['process_open_fds', 'process_max_fds'], queries: [q(`process_open_fds{${S}}`, '{{instance}} open'), q(`process_max_fds{${S}}`, '{{instance}} max')] },
      ],
    },
  ],
};
