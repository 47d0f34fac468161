//! [`web::AdminApi`] over the database: `/api/v1/admin/tsdb/{snapshot,delete_series,clean_tombstones}`
//! (served only with `--web.enable-admin-api`).

use crate::late_db::LateDb;
use std::sync::Arc;
use storage::{Db, Matcher};

/// The admin operations, answering "starting up" until the database is open.
pub struct DbAdmin(pub Arc<LateDb>);

impl DbAdmin {
    fn db(&self) -> Result<&Arc<Db>, String> {
        self.0.get().ok_or_else(|| {
            "Sextant is starting up (replaying the write-ahead log); retry shortly".to_string()
        })
    }
}

impl web::AdminApi for DbAdmin {
    fn delete_series(&self, matcher_sets: &[Vec<Matcher>], start: i64, end: i64) -> Result<(), String> {
        let db = self.db()?;
        for set in matcher_sets {
            db.delete_series(set, start, end)
                .map_err(|e| format!("delete series: {e}"))?;
        }
        Ok(())
    }

    fn clean_tombstones(&self) -> Result<(), String> {
        self.db()?
            .clean_tombstones()
            .map(|_| ())
            .map_err(|e| format!("clean tombstones: {e}"))
    }

    fn snapshot(&self, skip_head: bool) -> Result<String, String> {
        let info = self
            .db()?
            .snapshot_in_data_dir(!skip_head)
            .map_err(|e| format!("create snapshot: {e}"))?;
        Ok(info
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default())
    }
}
