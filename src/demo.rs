//! `sextant --demo`: simulated beacon nodes in the same process.
//!
//! Each node serves the beacon metrics specification's metrics as Prometheus text exposition over
//! real HTTP on a loopback port, and Sextant scrapes them like any target (job
//! [`DEMO_JOB`]), so a newcomer sees the beacon dashboard fill within a minute. The dynamics
//! follow the chain's clock (mainnet genesis, 12 s slots, 32-slot epochs): the head advances every
//! slot, finality trails two epochs with occasional stalls, reorgs are rare, peers churn,
//! validator and deposit counts grow each epoch, and one node lags behind.
//!
//! The four nodes also stray from the spec the way real clients do (see
//! `tests/fixtures/beacon-conformance.md`), so the dashboard's fallbacks and its conformance table
//! have something to show: `prysm` counts peers as `p2p_peer_count{state}`, `nimbus` declares
//! `beacon_reorgs_total` a gauge, `teku` has no `beacon_processed_deposits_total` and lags.
//!
//! Wiring (root `server`, behind a `--demo` flag): `let nodes = demo::start(stop_rx).await?;`
//! then push `demo::scrape_config(&nodes)?` onto `scrape_configs` before applying them.

use axum::{extract::State, http::header, response::IntoResponse, routing::get, Router};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Mainnet's genesis time (Unix seconds): the dashboard's default network preset.
pub const GENESIS_TIME: u64 = 1_606_824_023;
/// Seconds per slot.
pub const SECONDS_PER_SLOT: u64 = 12;
/// Slots per epoch.
pub const SLOTS_PER_EPOCH: u64 = 32;
/// The scrape job the demo nodes are scraped under.
pub const DEMO_JOB: &str = "beacon-demo";

/// How a simulated node strays from the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Every minimal metric with the spec's names and types, and most proposed ones.
    Lighthouse,
    /// Peers as `p2p_peer_count{state}` instead of `libp2p_peers`.
    Prysm,
    /// `beacon_reorgs_total` declared as a gauge.
    Nimbus,
    /// No `beacon_processed_deposits_total`; falls behind the head now and then.
    Teku,
}

impl Flavour {
    /// The client name, used as the `client` label of the target.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Lighthouse => "lighthouse",
            Flavour::Prysm => "prysm",
            Flavour::Nimbus => "nimbus",
            Flavour::Teku => "teku",
        }
    }
}

/// The demo nodes, one per flavour.
pub const NODES: [Flavour; 4] = [
    Flavour::Lighthouse,
    Flavour::Prysm,
    Flavour::Nimbus,
    Flavour::Teku,
];

/// A running simulated node.
#[derive(Debug, Clone)]
pub struct DemoNode {
    /// Its flavour.
    pub flavour: Flavour,
    /// Where it serves `/metrics`.
    pub addr: SocketAddr,
}

/// A small deterministic PRNG (xorshift64*), enough for a simulation.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Uniform integer in [lo, hi].
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// Upper bounds (seconds) of the delay histograms' buckets.
const DELAY_BUCKETS: [f64; 8] = [0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 12.0];

/// A delay histogram: cumulative-ready bucket counts, sum and count.
#[derive(Debug, Clone, Default)]
struct Histogram {
    buckets: [u64; DELAY_BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, v: f64) {
        if let Some(i) = DELAY_BUCKETS.iter().position(|b| v <= *b) {
            self.buckets[i] += 1;
        }
        self.sum += v;
        self.count += 1;
    }
}

/// The state of one simulated beacon node, advanced slot by slot.
#[derive(Debug, Clone)]
pub struct Sim {
    flavour: Flavour,
    rng: Rng,
    /// The last wall-clock slot simulated.
    slot: u64,
    /// Slots the node is behind the wall clock.
    lag: u64,
    head_slot: u64,
    finalized_epoch: u64,
    current_justified_epoch: u64,
    previous_justified_epoch: u64,
    /// Epoch until which finality is stalled (0: not stalled).
    stall_until: u64,
    reorgs: u64,
    peers: u64,
    active_validators: u64,
    pending_validators: u64,
    exited_validators: u64,
    processed_deposits: u64,
    pending_deposits: u64,
    pending_exits: u64,
    live_current: u64,
    live_previous: u64,
    http_requests: u64,
    http_successes: u64,
    blocks_imported: u64,
    attestations_received: u64,
    cpu_seconds: f64,
    block_delay: Histogram,
    attestation_delay: Histogram,
}

/// The wall-clock slot at Unix time `now` (seconds).
pub fn slot_at(now: f64) -> u64 {
    ((now - GENESIS_TIME as f64) / SECONDS_PER_SLOT as f64)
        .max(0.0)
        .floor() as u64
}

impl Sim {
    /// A node of `flavour` in sync at wall-clock `slot`; `seed` varies the randomness.
    pub fn new(flavour: Flavour, slot: u64, seed: u64) -> Sim {
        let epoch = slot / SLOTS_PER_EPOCH;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x1000_0000_01b3) | 1);
        let active = 1_050_000 + rng.between(0, 5_000);
        Sim {
            flavour,
            slot,
            lag: 0,
            head_slot: slot,
            finalized_epoch: epoch.saturating_sub(2),
            current_justified_epoch: epoch.saturating_sub(1),
            previous_justified_epoch: epoch.saturating_sub(2),
            stall_until: 0,
            reorgs: rng.between(0, 3),
            peers: rng.between(40, 80),
            active_validators: active,
            pending_validators: rng.between(1_000, 20_000),
            exited_validators: rng.between(100_000, 110_000),
            processed_deposits: active + 150_000,
            pending_deposits: rng.between(0, 50),
            pending_exits: rng.between(0, 10),
            live_current: active * 95 / 100,
            live_previous: active * 97 / 100,
            http_requests: 0,
            http_successes: 0,
            blocks_imported: 0,
            attestations_received: 0,
            cpu_seconds: 0.0,
            block_delay: Histogram::default(),
            attestation_delay: Histogram::default(),
            rng,
        }
    }

    /// Simulates every slot up to the wall-clock slot at Unix time `now` (at most an epoch's
    /// worth at once after a long pause).
    pub fn advance_to(&mut self, now: f64) {
        let target = slot_at(now);
        if target > self.slot + 4 * SLOTS_PER_EPOCH {
            self.slot = target - 4 * SLOTS_PER_EPOCH;
        }
        while self.slot < target {
            self.slot += 1;
            self.step();
        }
    }

    fn step(&mut self) {
        let slot = self.slot;
        let r = &mut self.rng;
        // The lagging node falls behind now and then and catches up again.
        if self.flavour == Flavour::Teku {
            if self.lag == 0 && r.chance(1.0 / 40.0) {
                self.lag = r.between(3, 12);
            } else if self.lag > 0 && r.chance(0.15) {
                self.lag -= 1;
            }
        }
        self.head_slot = slot - self.lag.min(slot);
        // Rare reorgs.
        if r.chance(1.0 / 200.0) {
            self.reorgs += 1;
        }
        // Peer churn: a random walk with an occasional burst of disconnects.
        if r.chance(0.02) {
            self.peers = self.peers.saturating_sub(r.between(5, 15));
        } else {
            self.peers = (self.peers + r.between(0, 2)).saturating_sub(1);
        }
        self.peers = self.peers.clamp(10, 100);
        self.block_delay.observe(0.3 + 3.5 * r.unit() * r.unit());
        for _ in 0..4 {
            self.attestation_delay.observe(1.0 + 6.0 * r.unit() * r.unit());
        }
        self.blocks_imported += u64::from(!r.chance(0.02));
        self.attestations_received += r.between(300, 600);
        self.http_requests += r.between(5, 25);
        self.http_successes = (self.http_successes + r.between(4, 25)).min(self.http_requests);
        self.cpu_seconds += 3.0 + 2.0 * r.unit();
        self.pending_exits = (self.pending_exits + r.between(0, 1)).saturating_sub(u64::from(r.chance(0.5)));
        if slot.is_multiple_of(SLOTS_PER_EPOCH) {
            self.epoch_transition(slot / SLOTS_PER_EPOCH);
        }
    }

    fn epoch_transition(&mut self, epoch: u64) {
        let r = &mut self.rng;
        // Finality trails two epochs, except during an occasional stall.
        if self.stall_until == 0 && r.chance(1.0 / 60.0) {
            self.stall_until = epoch + r.between(2, 5);
        }
        if self.stall_until != 0 && epoch >= self.stall_until {
            self.stall_until = 0;
        }
        self.previous_justified_epoch = self.current_justified_epoch;
        if self.stall_until == 0 {
            self.current_justified_epoch = epoch.saturating_sub(1);
            self.finalized_epoch = epoch.saturating_sub(2);
        }
        let joined = r.between(0, 8);
        self.active_validators += joined;
        self.pending_validators = (self.pending_validators + r.between(0, 10)).saturating_sub(joined);
        self.exited_validators += r.between(0, 2);
        self.processed_deposits += joined;
        self.pending_deposits = (self.pending_deposits + r.between(0, 6)).saturating_sub(r.between(0, 6));
        self.live_previous = self.live_current;
        self.live_current = self.active_validators * r.between(93, 99) / 100;
    }

    /// The node's metrics as Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let f = self.flavour;
        let mut gauge = |name: &str, help: &str, samples: &[(&str, f64)]| {
            family(&mut out, name, "gauge", help, samples);
        };
        gauge(
            "beacon_head_slot",
            "Latest slot of the beacon chain",
            &[("", self.head_slot as f64)],
        );
        gauge(
            "beacon_finalized_epoch",
            "Current finalized epoch",
            &[("", self.finalized_epoch as f64)],
        );
        gauge(
            "beacon_current_justified_epoch",
            "Current justified epoch",
            &[("", self.current_justified_epoch as f64)],
        );
        gauge(
            "beacon_previous_justified_epoch",
            "Current previously justified epoch",
            &[("", self.previous_justified_epoch as f64)],
        );
        gauge(
            "beacon_current_active_validators",
            "Current total active validators",
            &[("", self.active_validators as f64)],
        );
        if f != Flavour::Teku {
            gauge(
                "beacon_processed_deposits_total",
                "Total number of deposits processed",
                &[("", self.processed_deposits as f64)],
            );
        }
        if f == Flavour::Prysm {
            gauge(
                "p2p_peer_count",
                "The number of peers in a given state.",
                &[
                    ("{state=\"Connected\"}", self.peers as f64),
                    ("{state=\"Disconnected\"}", (self.peers / 4) as f64),
                ],
            );
        } else {
            gauge(
                "libp2p_peers",
                "Tracks the total number of libp2p peers",
                &[("", self.peers as f64)],
            );
        }
        gauge(
            "beacon_sync_state",
            "Beacon sync state, 0 for not syncing, 1 for synced, 2 for syncing",
            &[("", if self.lag > 2 { 2.0 } else { 1.0 })],
        );
        gauge(
            "beacon_current_validators",
            "Number of validators by status in the current epoch",
            &[
                ("{status=\"active\"}", self.active_validators as f64),
                ("{status=\"pending\"}", self.pending_validators as f64),
                ("{status=\"exited\"}", self.exited_validators as f64),
                ("{status=\"withdrawable\"}", (self.exited_validators / 2) as f64),
            ],
        );
        gauge(
            "beacon_pending_deposits",
            "Number of pending deposits",
            &[("", self.pending_deposits as f64)],
        );
        gauge(
            "beacon_pending_exits",
            "Number of pending voluntary exits",
            &[("", self.pending_exits as f64)],
        );
        if f == Flavour::Lighthouse || f == Flavour::Teku {
            gauge(
                "beacon_current_live_validators",
                "Active validators that included an attestation in the current epoch",
                &[("", self.live_current as f64)],
            );
            gauge(
                "beacon_previous_live_validators",
                "Active validators that included an attestation in the previous epoch",
                &[("", self.live_previous as f64)],
            );
        }
        if f == Flavour::Lighthouse {
            gauge(
                "gossipsub_mesh_peers_per_main_topic",
                "Number of peers per gossipsub topic",
                &[
                    ("{topic=\"beacon_block\"}", (self.peers / 8).max(1) as f64),
                    (
                        "{topic=\"beacon_aggregate_and_proof\"}",
                        (self.peers / 9).max(1) as f64,
                    ),
                ],
            );
            gauge(
                "process_max_fds",
                "Maximum number of open file descriptors.",
                &[("", 65536.0)],
            );
            gauge(
                "process_open_fds",
                "Number of open file descriptors.",
                &[("", (200 + self.peers * 3) as f64)],
            );
        }
        let reorg_type = if f == Flavour::Nimbus { "gauge" } else { "counter" };
        family(
            &mut out,
            "beacon_reorgs_total",
            reorg_type,
            "Total number of chain reorganizations",
            &[("", self.reorgs as f64)],
        );
        let counter = |out: &mut String, name: &str, help: &str, v: f64| {
            family(out, name, "counter", help, &[("", v)]);
        };
        counter(
            &mut out,
            "beacon_http_api_requests_total",
            "Requests to the HTTP API",
            self.http_requests as f64,
        );
        counter(
            &mut out,
            "beacon_http_api_successes_total",
            "Successful requests to the HTTP API",
            self.http_successes as f64,
        );
        counter(
            &mut out,
            "beacon_processor_gossip_block_imported_total",
            "Total number of imported blocks",
            self.blocks_imported as f64,
        );
        counter(
            &mut out,
            "beacon_attestations_received_total",
            "Total number of attestations received",
            self.attestations_received as f64,
        );
        counter(
            &mut out,
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            self.cpu_seconds,
        );
        histogram(
            &mut out,
            "beacon_block_delay_count",
            "Block delay (seconds into the slot)",
            &self.block_delay,
        );
        histogram(
            &mut out,
            "beacon_attestation_delay_count",
            "Attestation delay (seconds into the slot)",
            &self.attestation_delay,
        );
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, v) in samples {
        let _ = writeln!(out, "{name}{labels} {v}");
    }
}

fn histogram(out: &mut String, name: &str, help: &str, h: &Histogram) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    let mut cumulative = 0;
    for (le, n) in DELAY_BUCKETS.iter().zip(h.buckets.iter()) {
        cumulative += n;
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}", h.sum);
    let _ = writeln!(out, "{name}_count {}", h.count);
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

async fn metrics(State(sim): State<Arc<Mutex<Sim>>>) -> impl IntoResponse {
    let body = match sim.lock() {
        Ok(mut s) => {
            s.advance_to(now_secs());
            s.render()
        }
        Err(poisoned) => poisoned.into_inner().render(),
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
}

/// Starts the simulated nodes on ephemeral loopback ports; they stop when `stop` turns true.
pub async fn start(stop: tokio::sync::watch::Receiver<bool>) -> std::io::Result<Vec<DemoNode>> {
    let slot = slot_at(now_secs());
    let mut nodes = Vec::new();
    for (i, flavour) in NODES.iter().enumerate() {
        let sim = Arc::new(Mutex::new(Sim::new(*flavour, slot, i as u64 + 1)));
        let app = Router::new().route("/metrics", get(metrics)).with_state(sim);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!("demo node {addr} stopped: {e}");
            }
        });
        tracing::info!(
            "demo beacon node ({}) serving http://{addr}/metrics",
            flavour.name()
        );
        nodes.push(DemoNode {
            flavour: *flavour,
            addr,
        });
    }
    Ok(nodes)
}

/// One `scrape_configs` entry (YAML) scraping the demo nodes every 5 s under job [`DEMO_JOB`].
/// Each target is labelled with its `client`, and its `instance` is `<client>-demo` rather than
/// the ephemeral port, so a restart continues the same series.
pub fn scrape_config_yaml(nodes: &[DemoNode]) -> String {
    let mut yaml = format!("job_name: {DEMO_JOB}\nscrape_interval: 5s\nstatic_configs:\n");
    for n in nodes {
        let client = n.flavour.name();
        let _ = writeln!(
            yaml,
            "  - targets: ['{}']\n    labels:\n      client: {client}\n      instance: {client}-demo",
            n.addr,
        );
    }
    yaml
}

/// The demo nodes' scrape configuration, ready to append to `scrape_configs`.
pub fn scrape_config(nodes: &[DemoNode]) -> Result<ingest::ScrapeConfig, String> {
    serde_saphyr::from_str(&scrape_config_yaml(nodes)).map_err(|e| format!("demo scrape configuration: {e}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const T0: f64 = GENESIS_TIME as f64 + 10_000_000.0 * SECONDS_PER_SLOT as f64;

    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn head_follows_the_wall_clock_and_finality_trails() {
        let mut sim = Sim::new(Flavour::Lighthouse, slot_at(T0), 1);
        for hour in 1..=6 {
            let now = T0 + hour as f64 * 3600.0;
            sim.advance_to(now);
            let text = sim.render();
            let head = value(&text, "beacon_head_slot").unwrap();
            assert_eq!(head as u64, slot_at(now));
            let finalized = value(&text, "beacon_finalized_epoch").unwrap() as u64;
            let head_epoch = head as u64 / SLOTS_PER_EPOCH;
            assert!(
                finalized < head_epoch && head_epoch - finalized <= 8,
                "{finalized} vs {head_epoch}"
            );
            let justified = value(&text, "beacon_current_justified_epoch").unwrap() as u64;
            assert!(justified >= finalized);
        }
    }

    #[test]
    fn counters_never_decrease() {
        let mut sim = Sim::new(Flavour::Prysm, slot_at(T0), 2);
        let mut last = (0.0, 0.0, 0.0);
        for i in 1..200 {
            sim.advance_to(T0 + i as f64 * 60.0);
            let t = sim.render();
            let now = (
                value(&t, "beacon_reorgs_total").unwrap(),
                value(&t, "beacon_http_api_requests_total").unwrap(),
                value(&t, "beacon_block_delay_count_count").unwrap(),
            );
            assert!(now.0 >= last.0 && now.1 >= last.1 && now.2 >= last.2);
            last = now;
        }
        assert!(last.0 >= 1.0, "some reorgs happen in 200 minutes");
    }

    #[test]
    fn flavours_stray_like_real_clients() {
        let slot = slot_at(T0);
        let text = |f| Sim::new(f, slot, 3).render();
        let prysm = text(Flavour::Prysm);
        assert!(prysm.contains("p2p_peer_count{state=\"Connected\"}"));
        assert!(!prysm.contains("libp2p_peers"));
        assert!(text(Flavour::Nimbus).contains("# TYPE beacon_reorgs_total gauge"));
        assert!(text(Flavour::Lighthouse).contains("# TYPE beacon_reorgs_total counter"));
        assert!(!text(Flavour::Teku).contains("beacon_processed_deposits_total"));
        for f in NODES {
            let t = text(f);
            for m in [
                "beacon_head_slot",
                "beacon_finalized_epoch",
                "beacon_current_active_validators",
            ] {
                assert!(t.contains(&format!("# TYPE {m} gauge\n{m} ")), "{m}");
            }
        }
    }

    #[test]
    fn the_lagging_node_falls_behind_at_times() {
        let mut sim = Sim::new(Flavour::Teku, slot_at(T0), 4);
        let mut behind = 0;
        for i in 1..=2000 {
            let now = T0 + i as f64 * SECONDS_PER_SLOT as f64;
            sim.advance_to(now);
            if (value(&sim.render(), "beacon_head_slot").unwrap() as u64) < slot_at(now) {
                behind += 1;
            }
        }
        assert!(behind > 0 && behind < 2000, "behind in {behind} of 2000 slots");
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut sim = Sim::new(Flavour::Lighthouse, slot_at(T0), 5);
        sim.advance_to(T0 + 600.0);
        let t = sim.render();
        let mut prev = 0.0;
        for le in DELAY_BUCKETS {
            let v = value(&t, &format!("beacon_block_delay_count_bucket{{le=\"{le}\"}}")).unwrap();
            assert!(v >= prev);
            prev = v;
        }
        let inf = value(&t, "beacon_block_delay_count_bucket{le=\"+Inf\"}").unwrap();
        assert_eq!(inf, value(&t, "beacon_block_delay_count_count").unwrap());
        assert_eq!(inf, 50.0);
    }

    #[tokio::test]
    async fn nodes_serve_metrics_over_http_and_stop() {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let nodes = start(rx).await.unwrap();
        assert_eq!(nodes.len(), NODES.len());
        for n in &nodes {
            let mut s = tokio::net::TcpStream::connect(n.addr).await.unwrap();
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut body = String::new();
            s.read_to_string(&mut body).await.unwrap();
            assert!(body.starts_with("HTTP/1.1 200"), "{body}");
            assert!(body.contains("beacon_head_slot "));
        }
        let yaml = scrape_config_yaml(&nodes);
        assert!(yaml.contains(&nodes[0].addr.to_string()));
        assert!(yaml.contains("client: prysm"));
        assert!(yaml.contains("instance: prysm-demo"));
        let cfg = scrape_config(&nodes).unwrap();
        assert_eq!(cfg.job_name, DEMO_JOB);
        tx.send(true).unwrap();
    }
}
