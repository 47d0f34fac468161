//! [`DbQuerier`]: reads over the head and the blocks, scoped to a time range. Results of
//! the sources are merged per series; equal timestamps are kept once (the head's wins).

use super::Inner;
use crate::api::{Querier, SelectHints, Series};
use crate::block::Block;
use crate::error::QueryError;
use crate::model::{Labels, Matcher, Sample};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A reader over `[mint, maxt]`.
pub(crate) struct DbQuerier<'a> {
    db: &'a Inner,
    mint: i64,
    maxt: i64,
}

fn overlaps(b: &Block, lo: i64, hi: i64) -> bool {
    // Blocks are [min_time, max_time); a sample at max_time is tolerated by the writer.
    b.meta().min_time <= hi && b.meta().max_time >= lo
}

/// Merges sample lists of one series (each ascending); the first list wins on equal times.
fn merge_samples(mut parts: Vec<Vec<Sample>>) -> Vec<Sample> {
    if parts.len() == 1 {
        return parts.pop().unwrap_or_default();
    }
    let mut all: Vec<Sample> = parts.into_iter().flatten().collect();
    all.sort_by_key(|s| s.t); // stable: earlier parts first among equal timestamps
    all.dedup_by_key(|s| s.t);
    all
}

impl<'a> DbQuerier<'a> {
    pub(crate) fn new(db: &'a Inner, mint: i64, maxt: i64) -> Self {
        DbQuerier { db, mint, maxt }
    }

    /// The block list and a head read, taken together: a block cut that moves data out of
    /// the head waits until the head read is done, so nothing falls between the two.
    fn with_head<T>(&self, read_head: impl FnOnce() -> T) -> (Arc<Vec<Arc<Block>>>, T) {
        let g = self.db.blocks.read();
        let head = read_head();
        (g.clone(), head)
    }
}

impl Querier for DbQuerier<'_> {
    fn select(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<Series>, QueryError> {
        let (lo, hi) = (hints.mint.max(self.mint), hints.maxt.min(self.maxt));
        if lo > hi {
            return Ok(Vec::new());
        }
        let (blocks, head) = self.with_head(|| self.db.head.select(matchers, lo, hi));
        let blocks: Vec<&Arc<Block>> = blocks.iter().filter(|b| overlaps(b, lo, hi)).collect();
        if blocks.is_empty() {
            return Ok(head
                .into_iter()
                .map(|(labels, samples)| Series { labels, samples })
                .collect());
        }
        let mut merged: BTreeMap<Labels, Vec<Vec<Sample>>> = BTreeMap::new();
        for (l, s) in head {
            merged.entry(l).or_default().push(s);
        }
        // Newest block first, so that on equal timestamps newer data wins.
        for b in blocks.iter().rev() {
            for s in b.select(matchers, lo, hi)? {
                merged.entry(s.labels).or_default().push(s.samples);
            }
        }
        Ok(merged
            .into_iter()
            .map(|(labels, parts)| Series {
                labels,
                samples: merge_samples(parts),
            })
            .filter(|s| !s.samples.is_empty())
            .collect())
    }

    fn series(&self, matchers: &[Matcher]) -> Result<Vec<Labels>, QueryError> {
        let (blocks, head) = self.with_head(|| self.db.head.series_labels(matchers, self.mint, self.maxt));
        let mut set: BTreeSet<Labels> = head.into_iter().collect();
        for b in blocks.iter().filter(|b| overlaps(b, self.mint, self.maxt)) {
            set.extend(b.series(matchers, self.mint, self.maxt)?);
        }
        Ok(set.into_iter().collect())
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, QueryError> {
        let (blocks, head) = self.with_head(|| self.db.head.label_names(matchers, self.mint, self.maxt));
        let mut set: BTreeSet<String> = head.into_iter().collect();
        for b in blocks.iter().filter(|b| overlaps(b, self.mint, self.maxt)) {
            set.extend(b.label_names(matchers)?);
        }
        Ok(set.into_iter().collect())
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, QueryError> {
        let (blocks, head) =
            self.with_head(|| self.db.head.label_values(name, matchers, self.mint, self.maxt));
        let mut set: BTreeSet<String> = head.into_iter().collect();
        for b in blocks.iter().filter(|b| overlaps(b, self.mint, self.maxt)) {
            set.extend(b.label_values(name, matchers)?);
        }
        Ok(set.into_iter().collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn merge_dedups_and_prefers_first() {
        let a = vec![Sample::new(1, 1.0), Sample::new(3, 3.0)];
        let b = vec![
            Sample::new(1, 9.0),
            Sample::new(2, 2.0),
            Sample::new(3, 9.0),
            Sample::new(4, 4.0),
        ];
        let m = merge_samples(vec![a, b]);
        assert_eq!(
            m,
            vec![
                Sample::new(1, 1.0),
                Sample::new(2, 2.0),
                Sample::new(3, 3.0),
                Sample::new(4, 4.0)
            ]
        );
    }
}
