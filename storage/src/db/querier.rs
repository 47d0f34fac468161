//! [`DbQuerier`]: reads over the head and the blocks, scoped to a time range. Results of
//! the sources are merged per series; equal timestamps are kept once (the head's wins).

use super::Inner;
use crate::api::{Querier, SelectHints, Series};
use crate::block::Block;
use crate::error::QueryError;
use crate::lazy::{merge_sorted, DecodeScratch, LazySeries};
use crate::model::{Labels, Matcher};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Selections of at least this many series are decoded in parallel.
const PARALLEL_DECODE_MIN: usize = 256;

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
        let lazy = self.select_lazy(hints, matchers)?;
        // Large selections decode on all cores (decoding dominates wide queries).
        let out: Vec<Series> = if lazy.len() >= PARALLEL_DECODE_MIN {
            lazy.into_par_iter()
                .map_init(DecodeScratch::new, |sc, l| l.into_series(sc))
                .filter(|s| !matches!(s, Ok(s) if s.samples.is_empty() && s.histograms.is_empty()))
                .collect::<Result<_, QueryError>>()?
        } else {
            let mut sc = DecodeScratch::new();
            let mut out = Vec::with_capacity(lazy.len());
            for l in lazy {
                let s = l.into_series(&mut sc)?;
                if !s.samples.is_empty() || !s.histograms.is_empty() {
                    out.push(s);
                }
            }
            out
        };
        Ok(out)
    }

    fn select_lazy(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<LazySeries>, QueryError> {
        let (lo, hi) = (hints.mint.max(self.mint), hints.maxt.min(self.maxt));
        if lo > hi {
            return Ok(Vec::new());
        }
        let (blocks, mut merged) = self.with_head(|| self.db.head.select_lazy(matchers, lo, hi));
        // Newest block first, so that on equal timestamps newer data wins.
        for b in blocks.iter().rev().filter(|b| overlaps(b, lo, hi)) {
            merged = merge_sorted(merged, b.select_lazy(matchers, lo, hi)?);
        }
        Ok(merged)
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
