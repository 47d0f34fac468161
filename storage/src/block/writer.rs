//! Writing a block: columns into chunk files, then the index, then `meta.json`, all in a
//! temporary directory that is fsynced and renamed into place.

use super::chunks::{ChunkWriter, Column, ColumnStats};
use super::codec;
use super::meta::{new_block_id, write_meta, BlockMeta};
use super::BlockError;
use crate::format;
use crate::index::{ChunkEncoding, ChunkMeta, IndexWriter};
use crate::model::{FloatHistogram, HistogramSample, Labels, Sample};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Writes a level-1 block of `series` (sorted by labels, strictly ascending; samples sorted
/// by time with unique timestamps, inside `[min_time, max_time]`) into `parent_dir/<id>`.
/// Series without samples are skipped.
///
/// Crash safe: everything is written under `parent_dir/<id>.tmp`, fsynced, and renamed; a
/// crash leaves at most a `.tmp` directory, which [`super::remove_leftovers`] deletes.
pub fn write_block(
    parent_dir: &Path,
    series: impl Iterator<Item = (Labels, Vec<Sample>)>,
    min_time: i64,
    max_time: i64,
) -> Result<BlockMeta, BlockError> {
    write_block_with(
        parent_dir,
        series.map(|(l, s)| Ok((l, s, Vec::new()))),
        min_time,
        max_time,
        1,
        None,
    )
    .map(|(m, _)| m)
}

/// Like [`write_block`], also returning the column byte counts (for measuring compression).
pub fn write_block_stats(
    parent_dir: &Path,
    series: impl Iterator<Item = (Labels, Vec<Sample>)>,
    min_time: i64,
    max_time: i64,
) -> Result<(BlockMeta, ColumnStats), BlockError> {
    write_block_with(
        parent_dir,
        series.map(|(l, s)| Ok((l, s, Vec::new()))),
        min_time,
        max_time,
        1,
        None,
    )
}

/// Like [`write_block_stats`] for series with float and native histogram samples (each list
/// sorted by time with unique timestamps, no timestamp in both).
pub fn write_block_with_histograms(
    parent_dir: &Path,
    series: impl Iterator<Item = (Labels, Vec<Sample>, Vec<HistogramSample>)>,
    min_time: i64,
    max_time: i64,
) -> Result<(BlockMeta, ColumnStats), BlockError> {
    write_block_with(parent_dir, series.map(Ok), min_time, max_time, 1, None)
}

/// Removes a temporary directory unless disarmed.
struct TmpGuard(Option<PathBuf>);

impl Drop for TmpGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), BlockError> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| BlockError::io("syncing directory", dir, e))
}

/// Splits sorted samples into chunks of at most [`format::MAX_CHUNK_SAMPLES`], also cut at
/// every multiple of [`format::CHUNK_WINDOW_MS`] so that equal timestamps give equal chunks.
pub(crate) fn cut_chunks(samples: &[Sample]) -> Vec<&[Sample]> {
    let mut out = Vec::with_capacity(samples.len() / format::MAX_CHUNK_SAMPLES + 1);
    let mut start = 0;
    for i in 1..=samples.len() {
        let cut = i == samples.len()
            || i - start == format::MAX_CHUNK_SAMPLES
            || samples[i].t.div_euclid(format::CHUNK_WINDOW_MS)
                != samples[start].t.div_euclid(format::CHUNK_WINDOW_MS);
        if cut {
            out.push(&samples[start..i]);
            start = i;
        }
    }
    out
}

/// Splits sorted histogram samples into chunks like [`cut_chunks`], also cut where the
/// schema, zero threshold or custom bounds change ([`crate::chunk::same_family`]).
pub(crate) fn cut_histogram_chunks(samples: &[HistogramSample]) -> Vec<&[HistogramSample]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut proto: Option<&FloatHistogram> = None;
    let mut union = 0usize;
    for i in 0..=samples.len() {
        let growth = match (i.checked_sub(1).filter(|&p| p >= start), samples.get(i)) {
            (p, Some(s)) => crate::chunk::union_growth(p.map(|p| &samples[p].h), &s.h),
            (_, None) => 0,
        };
        let cut = i == samples.len()
            || (i > start
                && (i - start == format::MAX_CHUNK_SAMPLES
                    || crate::chunk::cells_bound(i - start + 1, union + growth)
                        > crate::chunk::MAX_CHUNK_CELLS
                    || samples[i].t.div_euclid(format::CHUNK_WINDOW_MS)
                        != samples[start].t.div_euclid(format::CHUNK_WINDOW_MS)
                    || proto.is_some_and(|p| !crate::chunk::same_family(p, &samples[i].h))));
        if cut {
            if i > start {
                out.push(&samples[start..i]);
            }
            start = i;
            proto = None;
            union = 0;
        }
        if let Some(s) = samples.get(i) {
            union += crate::chunk::union_growth(
                i.checked_sub(1).filter(|&p| p >= start).map(|p| &samples[p].h),
                &s.h,
            );
            if proto.is_none() && !s.h.is_stale() {
                proto = Some(&s.h);
            }
        }
    }
    out
}

/// One series' samples as time-ordered runs of one type.
enum Run<'a> {
    Floats(&'a [Sample]),
    Histograms(&'a [HistogramSample]),
}

/// Splits the floats and histograms of a series (each ascending, disjoint timestamps) into
/// alternating runs in time order.
fn runs<'a>(fs: &'a [Sample], hs: &'a [HistogramSample]) -> Vec<Run<'a>> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < fs.len() || j < hs.len() {
        if j == hs.len() || (i < fs.len() && fs[i].t < hs[j].t) {
            let end = match hs.get(j) {
                Some(h) => i + fs[i..].partition_point(|s| s.t < h.t),
                None => fs.len(),
            };
            out.push(Run::Floats(&fs[i..end]));
            i = end;
        } else {
            let end = match fs.get(i) {
                // `<=`: a timestamp in both lists still advances (and is refused below).
                Some(f) => j + hs[j..].partition_point(|h| h.t <= f.t),
                None => hs.len(),
            };
            out.push(Run::Histograms(&hs[j..end]));
            j = end;
        }
    }
    out
}

/// The writer behind [`write_block`] and [`super::compact`].
pub(crate) fn write_block_with(
    parent_dir: &Path,
    series: impl Iterator<Item = Result<(Labels, Vec<Sample>, Vec<HistogramSample>), BlockError>>,
    min_time: i64,
    max_time: i64,
    level: u32,
    sources: Option<Vec<String>>,
) -> Result<(BlockMeta, ColumnStats), BlockError> {
    if min_time > max_time {
        return Err(BlockError::InvalidInput(format!(
            "block time range [{min_time}, {max_time}] is empty"
        )));
    }
    let id = new_block_id();
    let tmp = parent_dir.join(format!("{id}{}", format::TMP_SUFFIX));
    let chunks_dir = tmp.join(format::CHUNKS_DIRNAME);
    std::fs::create_dir_all(&chunks_dir)
        .map_err(|e| BlockError::io("creating block directory", &chunks_dir, e))?;
    let mut guard = TmpGuard(Some(tmp.clone()));

    let mut cw = ChunkWriter::new(&chunks_dir);
    let mut entries: Vec<(Labels, Vec<ChunkMeta>)> = Vec::new();
    let mut num_samples = 0u64;
    let (mut ts, mut vs, mut buf) = (Vec::new(), Vec::new(), Vec::new());
    for item in series {
        let (labels, samples, histograms) = item?;
        if let Some((last, _)) = entries.last() {
            if labels <= *last {
                return Err(BlockError::InvalidInput(format!(
                    "series not sorted by labels: {labels} after {last}"
                )));
            }
        }
        if samples.is_empty() && histograms.is_empty() {
            continue;
        }
        let times = samples.iter().map(|s| s.t);
        let htimes = histograms.iter().map(|h| h.t);
        for (kind, ts) in [
            ("samples", times.collect::<Vec<_>>()),
            ("histograms", htimes.collect()),
        ] {
            if let Some(w) = ts.windows(2).find(|w| w[1] <= w[0]) {
                return Err(BlockError::InvalidInput(format!(
                    "{kind} of {labels} not strictly ascending in time at {}",
                    w[1]
                )));
            }
            if let (Some(&first), Some(&last)) = (ts.first(), ts.last()) {
                if first < min_time || last > max_time {
                    return Err(BlockError::InvalidInput(format!(
                        "{kind} of {labels} span [{first}, {last}], outside the block range [{min_time}, {max_time}]"
                    )));
                }
            }
        }
        let mut metas = Vec::new();
        for run in runs(&samples, &histograms) {
            match run {
                Run::Floats(fs) => {
                    for c in cut_chunks(fs) {
                        ts.clear();
                        vs.clear();
                        ts.extend(c.iter().map(|s| s.t));
                        vs.extend(c.iter().map(|s| s.v));
                        buf.clear();
                        codec::encode_timestamps(&ts, &mut buf);
                        let ts_ref = cw.write_column(&buf, Column::Timestamps)?;
                        buf.clear();
                        codec::encode_values(&vs, &mut buf);
                        let values_ref = cw.write_column(&buf, Column::Values)?;
                        metas.push(ChunkMeta {
                            min_time: c[0].t,
                            max_time: c[c.len() - 1].t,
                            num_samples: c.len() as u32,
                            ts_ref,
                            values_ref,
                            encoding: ChunkEncoding::Float,
                        });
                    }
                }
                Run::Histograms(hs) => {
                    for c in cut_histogram_chunks(hs) {
                        ts.clear();
                        ts.extend(c.iter().map(|s| s.t));
                        buf.clear();
                        codec::encode_timestamps(&ts, &mut buf);
                        let ts_ref = cw.write_column(&buf, Column::Timestamps)?;
                        buf.clear();
                        let refs: Vec<&FloatHistogram> = c.iter().map(|s| &s.h).collect();
                        crate::chunk::encode_histograms(&refs, &mut buf);
                        let values_ref = cw.write_column(&buf, Column::Histograms)?;
                        metas.push(ChunkMeta {
                            min_time: c[0].t,
                            max_time: c[c.len() - 1].t,
                            num_samples: c.len() as u32,
                            ts_ref,
                            values_ref,
                            encoding: ChunkEncoding::Histogram,
                        });
                    }
                }
            }
        }
        // Overlapping runs would mean a timestamp in both lists.
        if metas.windows(2).any(|w| w[1].min_time <= w[0].max_time) {
            return Err(BlockError::InvalidInput(format!(
                "{labels} has a float and a histogram sample at the same timestamp"
            )));
        }
        num_samples += (samples.len() + histograms.len()) as u64;
        entries.push((labels, metas));
    }
    let stats = cw.finish()?;

    let mut symbols: BTreeSet<&str> = BTreeSet::new();
    for (labels, _) in &entries {
        for l in labels {
            symbols.insert(&l.name);
            symbols.insert(&l.value);
        }
    }
    let mut iw = IndexWriter::create(&tmp.join(format::INDEX_FILENAME))?;
    for s in symbols {
        iw.add_symbol(s)?;
    }
    let mut iw = iw.into_series()?;
    for (labels, metas) in &entries {
        iw.add_series(labels, metas)?;
    }
    iw.finish()?;

    let meta = BlockMeta {
        sources: sources.unwrap_or_else(|| vec![id.clone()]),
        id,
        min_time,
        max_time,
        num_series: entries.len() as u64,
        num_samples,
        level,
    };
    write_meta(&tmp, &meta)?;
    sync_dir(&chunks_dir)?;
    sync_dir(&tmp)?;
    let dest = parent_dir.join(&meta.id);
    std::fs::rename(&tmp, &dest).map_err(|e| BlockError::io("renaming block into place", &dest, e))?;
    guard.0 = None;
    sync_dir(parent_dir)?;
    Ok((meta, stats))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_cut_by_count_and_window() {
        let s: Vec<Sample> = (0..1000).map(|i| Sample::new(i * 15_000, 0.0)).collect();
        let c = cut_chunks(&s);
        assert_eq!(c.iter().map(|c| c.len()).sum::<usize>(), 1000);
        assert_eq!(c[0].len(), 480);
        assert!(c.iter().all(|c| c.len() <= format::MAX_CHUNK_SAMPLES));
        // Window boundary at 2h = 480 * 15 s.
        assert_eq!(c[1][0].t, format::CHUNK_WINDOW_MS);
        let s: Vec<Sample> = vec![Sample::new(-1, 0.0), Sample::new(0, 0.0)];
        assert_eq!(cut_chunks(&s).len(), 2);
        assert!(cut_chunks(&[]).is_empty());
    }

    #[test]
    fn runs_alternate_in_time_order() {
        let fs: Vec<Sample> = [1, 2, 5, 9].iter().map(|&t| Sample::new(t, 0.0)).collect();
        let h = |t| HistogramSample {
            t,
            h: FloatHistogram::default(),
        };
        let hs = vec![h(3), h(4), h(6), h(10), h(11)];
        let got: Vec<(char, usize)> = runs(&fs, &hs)
            .iter()
            .map(|r| match r {
                Run::Floats(x) => ('f', x.len()),
                Run::Histograms(x) => ('h', x.len()),
            })
            .collect();
        assert_eq!(
            got,
            vec![('f', 2), ('h', 2), ('f', 1), ('h', 1), ('f', 1), ('h', 2)]
        );
        let other = FloatHistogram {
            schema: 2,
            ..Default::default()
        };
        let mixed = vec![h(1), h(2), HistogramSample { t: 3, h: other }, h(4)];
        let c = cut_histogram_chunks(&mixed);
        assert_eq!(c.iter().map(|c| c.len()).collect::<Vec<_>>(), vec![2, 1, 1]);
        let stale = vec![
            h(1),
            HistogramSample {
                t: 2,
                h: FloatHistogram::stale(),
            },
            h(3),
        ];
        assert_eq!(cut_histogram_chunks(&stale).len(), 1);
    }
}
