//! Adapts the database's head statistics (in `storage`) to `/api/v1/status/tsdb` (in `web`).

use crate::late_db::LateDb;
use std::sync::Arc;

/// `/api/v1/status/tsdb`'s head figures, read from the database once it is open.
pub struct HeadStatsFromDb(pub Arc<LateDb>);

impl web::TsdbStatsProvider for HeadStatsFromDb {
    fn head_stats(&self) -> web::HeadStats {
        match self.0.get() {
            Some(db) => {
                let s = db.stats();
                web::HeadStats {
                    num_series: s.head_series as u64,
                    chunk_count: s.head_chunks,
                    min_time: s.head_min_time,
                    max_time: s.head_max_time,
                    histogram_series: s.head_histogram_series as u64,
                    histogram_samples: s.head_histogram_samples,
                }
            }
            None => web::HeadStats {
                num_series: 0,
                chunk_count: 0,
                min_time: 0,
                max_time: 0,
                histogram_series: 0,
                histogram_samples: 0,
            },
        }
    }
}
