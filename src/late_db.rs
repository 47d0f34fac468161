//! A database handle that exists before the database is open.
//!
//! The listener comes up first so `/-/healthy` answers and `/-/ready` says 503 while the WAL is
//! replayed; until then writes fail with a retryable error and reads with "starting up".

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use storage::{
    AppendError, Appendable, Appender, Db, Labels, MetricMetadata, Querier, QueryError, Queryable, SeriesRef,
};

/// The database once it is open; empty before.
#[derive(Default)]
pub struct LateDb {
    db: OnceLock<Arc<Db>>,
}

impl LateDb {
    /// An empty handle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs the opened database. Later calls are ignored.
    pub fn set(&self, db: Arc<Db>) {
        let _ = self.db.set(db);
    }

    /// The database, if open.
    pub fn get(&self) -> Option<&Arc<Db>> {
        self.db.get()
    }
}

fn starting_up() -> std::io::Error {
    std::io::Error::other("Sextant is starting up (replaying the write-ahead log); retry shortly")
}

/// The appender handed out before the database is open: every commit fails, retryably.
struct NotReadyAppender;

impl Appender for NotReadyAppender {
    fn append(&mut self, _r: SeriesRef, _l: &Labels, _t: i64, _v: f64) -> Result<SeriesRef, AppendError> {
        Err(AppendError::Io(starting_up()))
    }

    fn commit(self: Box<Self>) -> Result<(), AppendError> {
        Err(AppendError::Io(starting_up()))
    }

    fn rollback(self: Box<Self>) {}
}

impl Appendable for LateDb {
    fn appender(&self) -> Box<dyn Appender + Send + '_> {
        match self.db.get() {
            Some(db) => db.appender(),
            None => Box::new(NotReadyAppender),
        }
    }
}

impl Queryable for LateDb {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, QueryError> {
        match self.db.get() {
            Some(db) => db.querier(mint, maxt),
            None => Err(QueryError::Io(starting_up())),
        }
    }

    fn metadata(&self) -> BTreeMap<String, Vec<MetricMetadata>> {
        self.db.get().map(|db| db.metadata()).unwrap_or_default()
    }

    fn release_mapped_pages(&self) {
        if let Some(db) = self.db.get() {
            db.release_mapped_pages();
        }
    }

    fn select_exemplars(
        &self,
        mint: i64,
        maxt: i64,
        matcher_sets: &[Vec<storage::Matcher>],
    ) -> Result<Vec<storage::ExemplarSeries>, QueryError> {
        match self.db.get() {
            Some(db) => db.select_exemplars(mint, maxt, matcher_sets),
            None => Ok(Vec::new()),
        }
    }
}
