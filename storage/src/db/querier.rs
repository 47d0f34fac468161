//! [`DbQuerier`]: reads over the head (and blocks), scoped to a time range.

use super::Inner;
use crate::api::{Querier, SelectHints, Series};
use crate::error::QueryError;
use crate::model::{Labels, Matcher};

/// A reader over `[mint, maxt]`.
pub(crate) struct DbQuerier<'a> {
    db: &'a Inner,
    mint: i64,
    maxt: i64,
}

impl<'a> DbQuerier<'a> {
    pub(crate) fn new(db: &'a Inner, mint: i64, maxt: i64) -> Self {
        DbQuerier { db, mint, maxt }
    }
}

impl Querier for DbQuerier<'_> {
    fn select(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<Series>, QueryError> {
        let (lo, hi) = (hints.mint.max(self.mint), hints.maxt.min(self.maxt));
        if lo > hi {
            return Ok(Vec::new());
        }
        Ok(self
            .db
            .head
            .select(matchers, lo, hi)
            .into_iter()
            .map(|(labels, samples)| Series { labels, samples })
            .collect())
    }

    fn series(&self, matchers: &[Matcher]) -> Result<Vec<Labels>, QueryError> {
        Ok(self.db.head.series_labels(matchers, self.mint, self.maxt))
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, QueryError> {
        Ok(self.db.head.label_names(matchers, self.mint, self.maxt))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, QueryError> {
        Ok(self.db.head.label_values(name, matchers, self.mint, self.maxt))
    }
}
