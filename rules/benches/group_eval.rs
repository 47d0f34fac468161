//! One evaluation of the beacon preset group over 100 nodes with 2 h of 15 s data.
//! `cargo bench -p rules --bench group_eval`

#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use rules::{RuleManager, RuleManagerOptions, RuleSource};
use std::sync::Arc;
use storage::{Appendable, Db, DbOptions, Labels, SeriesRef};

const T0: i64 = 1_700_000_000_000;
const NODES: usize = 100;
const POINTS: i64 = 480;

/// A series value as a function of time (ms).
type ValueFn = Box<dyn Fn(i64) -> f64>;

fn setup(dir: &std::path::Path) -> Arc<Db> {
    let mut o = DbOptions::new(dir);
    o.auto_maintenance = false;
    let db = Arc::new(Db::open(o).unwrap());
    let mut app = db.appender();
    for n in 0..NODES {
        let inst = format!("node-{n}");
        let series: Vec<(Labels, ValueFn)> = vec![
            (lbl("beacon_sync_state", &inst), Box::new(|_| 1.0)),
            (
                lbl("beacon_head_slot", &inst),
                Box::new(|t| ((t / 1000 - 1_606_824_023) / 12) as f64),
            ),
            (
                lbl("beacon_finalized_epoch", &inst),
                Box::new(|t| ((t / 1000 - 1_606_824_023) / 384 - 2) as f64),
            ),
            (lbl("libp2p_peers", &inst), Box::new(move |_| (n % 60) as f64)),
            (
                lbl("beacon_reorgs_total", &inst),
                Box::new(|t| ((t - T0) / 600_000) as f64),
            ),
            (
                lbl("beacon_current_active_validators", &inst),
                Box::new(|_| 500_000.0),
            ),
        ];
        for (l, f) in &series {
            for i in 0..POINTS {
                let t = T0 + i * 15_000;
                app.append(SeriesRef::NONE, l, t, f(t)).unwrap();
            }
        }
    }
    app.commit().unwrap();
    db
}

fn lbl(name: &str, inst: &str) -> Labels {
    Labels::from_pairs([("__name__", name), ("instance", inst), ("job", "beacon")])
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    let engine = Arc::new(query::Engine::new(query::EngineOptions::default()));
    let m = RuleManager::new(
        db.clone(),
        db.clone(),
        engine,
        RuleManagerOptions {
            run_evaluations: false,
            ..Default::default()
        },
    );
    m.load_sources(&[RuleSource::beacon_preset()]).unwrap();
    let mut t = T0 + POINTS * 15_000 - 15_000;
    c.bench_function("beacon_group_eval_100_nodes", |b| {
        b.iter(|| {
            // Successive evaluation times, as the group task would use (writes stay in order).
            t += 1;
            m.eval_group_at("beacon-node", t).unwrap();
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
