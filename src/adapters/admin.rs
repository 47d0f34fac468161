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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use storage::{Appendable, Labels, MatchOp, Queryable, SelectHints, SeriesRef};
    use web::AdminApi;

    #[test]
    fn answers_starting_up_then_works_on_the_open_db() {
        let late = Arc::new(LateDb::new());
        let admin = DbAdmin(late.clone());
        let e = admin.snapshot(false).unwrap_err();
        assert!(e.contains("starting up"), "{e}");
        assert!(admin.clean_tombstones().unwrap_err().contains("starting up"));

        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(storage::DbOptions::new(dir.path())).unwrap());
        late.set(db.clone());
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a")]);
        let mut a = db.appender();
        a.append(SeriesRef::NONE, &l, 1000, 1.0).unwrap();
        a.commit().unwrap();
        let name = admin.snapshot(false).unwrap();
        assert!(dir.path().join("snapshots").join(&name).is_dir(), "{name}");
        admin
            .delete_series(&[vec![Matcher::equal("job", "a")]], 0, 2000)
            .unwrap();
        admin.clean_tombstones().unwrap();
        let m = [Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()];
        let got = db
            .querier(0, 5000)
            .unwrap()
            .select(&SelectHints { mint: 0, maxt: 5000 }, &m)
            .unwrap();
        assert!(got.is_empty());
    }
}
