//! Each preset alert fed with beacon-node series: pending → firing → resolved.

use crate::alert::AlertState;
use crate::manager::{RuleManager, RuleManagerOptions, RuleSource};
use std::collections::BTreeMap;
use std::sync::Arc;
use storage::{Appendable, Db, DbOptions, Labels, SeriesRef};

/// A Unix time well after mainnet genesis (2023-11-14T22:13:20Z), seconds.
const T0: i64 = 1_700_000_000;
const GENESIS: i64 = 1_606_824_023;

struct Harness {
    _dir: tempfile::TempDir,
    db: Arc<Db>,
    mgr: RuleManager,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut o = DbOptions::new(dir.path());
    o.auto_maintenance = false;
    o.wal_fsync_interval = std::time::Duration::from_secs(3600);
    let db = Arc::new(Db::open(o).unwrap());
    let engine = Arc::new(query::Engine::new(query::EngineOptions::default()));
    let opts = RuleManagerOptions {
        run_evaluations: false,
        ..Default::default()
    };
    let mgr = RuleManager::new(db.clone(), db.clone(), engine, opts);
    mgr.load_sources(&[RuleSource::beacon_preset()]).unwrap();
    Harness { _dir: dir, db, mgr }
}

impl Harness {
    /// Writes `metric{instance="node-1",job="beacon"}` every 15 s over [from, to) (seconds
    /// after T0) with values `f(t)` (t in absolute seconds).
    fn feed(&self, metric: &str, from: i64, to: i64, f: impl Fn(i64) -> f64) {
        let labels = Labels::from_pairs([("__name__", metric), ("instance", "node-1"), ("job", "beacon")]);
        let mut app = self.db.appender();
        let mut t = T0 + from;
        while t < T0 + to {
            app.append(SeriesRef::NONE, &labels, t * 1000, f(t)).unwrap();
            t += 15;
        }
        app.commit().unwrap();
    }

    /// Evaluates the group every 30 s over [from, to] (seconds after T0) and records the
    /// state of `alert` after each evaluation (`None` = not active).
    fn run(&self, alert: &str, from: i64, to: i64) -> BTreeMap<i64, Option<AlertState>> {
        let mut out = BTreeMap::new();
        let mut t = from;
        while t <= to {
            self.mgr.eval_group_at("beacon-node", (T0 + t) * 1000).unwrap();
            let st = self
                .mgr
                .alerts()
                .into_iter()
                .find(|a| a.labels.get("alertname").map(String::as_str) == Some(alert))
                .map(|a| a.state);
            out.insert(t, st);
            t += 30;
        }
        for g in self.mgr.groups() {
            for r in g.rules {
                assert_eq!(r.last_error, None, "{}", r.name);
            }
        }
        out
    }
}

/// Asserts the timeline goes None → Pending → Firing → None, in that order, and returns
/// the first time of each phase.
fn assert_lifecycle(states: &BTreeMap<i64, Option<AlertState>>) -> [i64; 3] {
    let mut phases = Vec::new();
    let mut last = None;
    for (&t, &s) in states {
        if s != last {
            phases.push((t, s));
            last = s;
        }
    }
    let kinds: Vec<_> = phases.iter().map(|p| p.1).collect();
    assert_eq!(
        kinds,
        vec![Some(AlertState::Pending), Some(AlertState::Firing), None],
        "{phases:?}"
    );
    [phases[0].0, phases[1].0, phases[2].0]
}

fn wall_slot(t: i64) -> f64 {
    ((t - GENESIS) / 12) as f64
}

#[test]
fn preset_parses() {
    let h = harness();
    let g = h.mgr.groups();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].rules.len(), 6);
}

#[test]
fn node_not_synced() {
    let h = harness();
    h.feed("beacon_sync_state", 0, 600, |_| 1.0);
    h.feed("beacon_sync_state", 600, 1500, |_| 2.0);
    h.feed("beacon_sync_state", 1500, 2400, |_| 1.0);
    let [p, f, r] = assert_lifecycle(&h.run("BeaconNodeNotSynced", 0, 2400));
    assert_eq!(p, 600);
    assert_eq!(f, 900);
    assert_eq!(r, 1500);
}

#[test]
fn head_slot_behind_wall_clock() {
    let h = harness();
    // In sync, then stuck at the slot of T0+600 for 10 minutes, then caught up.
    h.feed("beacon_head_slot", 0, 600, wall_slot);
    h.feed("beacon_head_slot", 600, 1200, |_| wall_slot(T0 + 600));
    h.feed("beacon_head_slot", 1200, 1800, wall_slot);
    let [p, f, r] = assert_lifecycle(&h.run("BeaconHeadSlotBehind", 0, 1800));
    // More than 8 slots (96 s) behind after ~T0+700; firing 2 minutes later.
    assert!((690..=750).contains(&p), "{p}");
    assert_eq!(f, p + 120);
    assert_eq!(r, 1200);
}

#[test]
fn no_finality_for_more_than_four_epochs() {
    let h = harness();
    let head = |t: i64| wall_slot(t);
    let epoch = |t: i64| (wall_slot(t) / 32.0).floor();
    h.feed("beacon_head_slot", 0, 4000, head);
    h.feed("beacon_finalized_epoch", 0, 600, |t| epoch(t) - 2.0);
    let stuck = epoch(T0 + 600) - 2.0;
    h.feed("beacon_finalized_epoch", 600, 3000, move |_| stuck);
    h.feed("beacon_finalized_epoch", 3000, 4000, |t| epoch(t) - 2.0);
    let [p, f, r] = assert_lifecycle(&h.run("BeaconNoFinality", 0, 4000));
    assert!(p > 600 && p < 3000, "{p}");
    assert_eq!(f, p + 60);
    assert_eq!(r, 3000);
}

#[test]
fn peers_below_threshold() {
    let h = harness();
    h.feed("libp2p_peers", 0, 600, |_| 50.0);
    h.feed("libp2p_peers", 600, 1200, |_| 3.0);
    h.feed("libp2p_peers", 1200, 1800, |_| 50.0);
    let [p, f, r] = assert_lifecycle(&h.run("BeaconLowPeerCount", 0, 1800));
    assert_eq!((p, f, r), (600, 900, 1200));
    let a = h.mgr.groups()[0].rules[3].clone();
    assert_eq!(a.name, "BeaconLowPeerCount");
}

#[test]
fn reorg_spike() {
    let h = harness();
    // One reorg a minute between T0+600 and T0+900 (5 reorgs), then none.
    h.feed("beacon_reorgs_total", 0, 4000, |t| {
        let d = t - T0;
        if d < 600 {
            0.0
        } else {
            (((d - 600) / 60) + 1).min(5) as f64
        }
    });
    let [p, f, r] = assert_lifecycle(&h.run("BeaconReorgSpike", 0, 3000));
    assert!(p > 600 && p <= 900, "{p}");
    assert_eq!(f, p + 60);
    assert!(r > 900 + 60 && r <= 600 + 900 + 300, "{r}");
}

#[test]
fn active_validators_dropping() {
    let h = harness();
    h.feed("beacon_current_active_validators", 0, 1200, |_| 500_000.0);
    h.feed("beacon_current_active_validators", 1200, 6000, |_| 490_000.0);
    let [p, f, r] = assert_lifecycle(&h.run("BeaconActiveValidatorsDropping", 0, 6000));
    assert_eq!(p, 1200);
    assert_eq!(f, 1500);
    // The 1 h window forgets the old maximum.
    assert!((1200 + 3600..=1200 + 3660).contains(&r), "{r}");
}

#[test]
fn annotations_are_expanded() {
    let h = harness();
    h.feed("libp2p_peers", 0, 600, |_| 3.0);
    h.run("BeaconLowPeerCount", 0, 0);
    let a = h
        .mgr
        .alerts()
        .into_iter()
        .find(|a| a.labels["alertname"] == "BeaconLowPeerCount")
        .unwrap();
    assert_eq!(a.annotations["summary"], "Beacon node node-1 has only 3 peers");
    assert_eq!(a.labels["severity"], "warning");
    assert_eq!(a.labels["job"], "beacon");
}
