//! Adapts the scrape manager (in `ingest`) to the targets API (in `web`), which must not know
//! each other.

use ingest::ScrapeManager;
use std::sync::Arc;
use web::{ActiveTarget, DroppedTarget, TargetHealth, TargetMetadata, TargetsProvider};

/// The scrape manager seen through `web`'s [`TargetsProvider`].
pub struct ScrapeTargets(pub Arc<ScrapeManager>);

fn health(h: ingest::TargetHealth) -> TargetHealth {
    match h {
        ingest::TargetHealth::Up => TargetHealth::Up,
        ingest::TargetHealth::Down => TargetHealth::Down,
        ingest::TargetHealth::Unknown => TargetHealth::Unknown,
    }
}

impl TargetsProvider for ScrapeTargets {
    fn active(&self) -> Vec<ActiveTarget> {
        self.0
            .targets()
            .into_iter()
            .map(|t| ActiveTarget {
                discovered_labels: t.discovered_labels,
                labels: t.labels,
                scrape_pool: t.job,
                global_url: t.scrape_url.clone(),
                scrape_url: t.scrape_url,
                last_error: t.last_error,
                last_scrape: t.last_scrape,
                last_scrape_duration: t.last_scrape_duration,
                health: health(t.health),
                scrape_interval: t.scrape_interval,
                scrape_timeout: t.scrape_timeout,
            })
            .collect()
    }

    fn dropped(&self) -> Vec<DroppedTarget> {
        self.0
            .dropped_targets()
            .into_iter()
            .map(|d| DroppedTarget {
                scrape_pool: d.job,
                discovered_labels: d.discovered_labels,
            })
            .collect()
    }

    fn metadata(&self) -> Vec<TargetMetadata> {
        self.0
            .target_metadata()
            .into_iter()
            .map(|m| TargetMetadata {
                target: m.target,
                metric: m.metric,
                metadata: m.metadata,
            })
            .collect()
    }
}
