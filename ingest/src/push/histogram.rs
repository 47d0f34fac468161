//! Native (sparse) histograms turned into classic bucket series.
//!
//! Histograms that stay classic (OTLP explicit-bucket histograms, span metrics) are written as
//! the classic series `<name>_bucket{le="..."}` (cumulative counts), `<name>_count` and
//! `<name>_sum`, which `histogram_quantile` and `rate` understand. Bucket bounds come from
//! storage's [`exponential_upper_bound`], the one home of Prometheus' bounds.
//!
//! Bucket boundaries follow the schema:
//! - exponential schemas `-4..=8`: positive bucket `i` covers `(base^(i-1), base^i]` with
//!   `base = 2^(2^-schema)`; negative bucket `i` covers `[-base^i, -base^(i-1))`; the zero
//!   bucket covers `[-zero_threshold, zero_threshold]`. One `le` per populated (spanned) bucket,
//!   one for the zero bucket (`le` = the zero threshold), and `+Inf` = the total count;
//! - custom buckets (schema `-53`): `custom_values` are the upper bounds; every bound gets an
//!   `le` (so the set of series does not change between samples), plus `+Inf`.

use storage::{exponential_upper_bound, Labels, LabelsBuilder, METRIC_NAME};

/// The custom-buckets schema number.
pub use storage::CUSTOM_BUCKETS_SCHEMA;

/// A native histogram sample with absolute bucket counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NativeHistogram {
    /// Bucket schema: `-4..=8` exponential, `-53` custom bounds.
    pub schema: i32,
    /// Width of the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: f64,
    /// Total number of observations.
    pub count: f64,
    /// Sum of observations (the staleness marker for a stale histogram).
    pub sum: Option<f64>,
    /// Populated positive buckets: (index, absolute count), ascending index.
    pub positive: Vec<(i32, f64)>,
    /// Populated negative buckets: (index, absolute count), ascending index.
    pub negative: Vec<(i32, f64)>,
    /// Upper bounds for the custom-buckets schema.
    pub custom_values: Vec<f64>,
}

/// Expands spans + deltas (integer histograms) or spans + absolute counts (float histograms)
/// into (index, absolute count) pairs.
pub fn expand_buckets(
    spans: &[(i32, u32)],
    deltas: &[i64],
    counts: &[f64],
) -> Result<Vec<(i32, f64)>, String> {
    let total: u64 = spans.iter().map(|s| u64::from(s.1)).sum();
    let (use_deltas, n) = if !deltas.is_empty() {
        (true, deltas.len())
    } else {
        (false, counts.len())
    };
    if total != n as u64 {
        return Err(format!(
            "histogram spans cover {total} buckets but {n} bucket counts were sent"
        ));
    }
    let mut out = Vec::with_capacity(n);
    let mut idx: i64 = 0;
    let mut running: i64 = 0;
    let mut k = 0;
    for (si, &(offset, len)) in spans.iter().enumerate() {
        idx = if si == 0 {
            i64::from(offset)
        } else {
            idx + i64::from(offset)
        };
        for _ in 0..len {
            let index =
                i32::try_from(idx).map_err(|_| format!("histogram bucket index {idx} out of range"))?;
            let c = if use_deltas {
                running = running
                    .checked_add(deltas[k])
                    .ok_or_else(|| "histogram bucket count overflows".to_string())?;
                if running < 0 {
                    return Err(format!("histogram bucket {index} has a negative count {running}"));
                }
                running as f64
            } else {
                counts[k]
            };
            out.push((index, c));
            k += 1;
            idx += 1;
        }
    }
    Ok(out)
}

impl NativeHistogram {
    /// Checks the schema and returns the classic buckets: (upper bound, cumulative count),
    /// ascending, ending with `+Inf` = the total count.
    pub fn classic_buckets(&self) -> Result<Vec<(f64, f64)>, String> {
        let mut buckets: Vec<(f64, f64)> = Vec::new();
        if self.schema == CUSTOM_BUCKETS_SCHEMA {
            if self
                .custom_values
                .windows(2)
                .any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
            {
                return Err("custom bucket bounds are not strictly increasing".into());
            }
            let mut per = vec![0.0; self.custom_values.len()];
            for &(i, c) in &self.positive {
                let i = usize::try_from(i).map_err(|_| format!("custom bucket index {i} is negative"))?;
                if i < per.len() {
                    per[i] += c;
                } else if i > per.len() {
                    return Err(format!(
                        "custom bucket index {i} is past the {} bounds",
                        self.custom_values.len()
                    ));
                }
            }
            let mut cum = 0.0;
            for (b, c) in self.custom_values.iter().zip(per) {
                cum += c;
                if b.is_finite() {
                    buckets.push((*b, cum));
                }
            }
        } else if (-4..=8).contains(&self.schema) {
            let mut cum = 0.0;
            for &(i, c) in self.negative.iter().rev() {
                cum += c;
                buckets.push((-exponential_upper_bound(i - 1, self.schema), cum));
            }
            cum += self.zero_count;
            buckets.push((self.zero_threshold, cum));
            for &(i, c) in &self.positive {
                cum += c;
                let ub = exponential_upper_bound(i, self.schema);
                if ub.is_finite() {
                    buckets.push((ub, cum));
                }
            }
            // Boundaries inside the zero bucket (or equal neighbours) collapse into one.
            buckets.dedup_by(|b, a| {
                if b.0 <= a.0 {
                    a.1 = a.1.max(b.1);
                    true
                } else {
                    false
                }
            });
        } else {
            return Err(format!(
                "unsupported native histogram schema {} (valid: -4..=8 and -53)",
                self.schema
            ));
        }
        buckets.push((f64::INFINITY, self.count));
        Ok(buckets)
    }
}

/// The `le` label value for an upper bound, as Prometheus' converters write it
/// (`0.25`, `1000`, `+Inf`).
pub fn format_le(b: f64) -> String {
    if b == f64::INFINITY {
        "+Inf".into()
    } else if b == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{b}")
    }
}

/// `labels` with `__name__` replaced by `base + suffix` (and `extra` set).
pub fn with_name(labels: &Labels, base: &str, suffix: &str, extra: Option<(&str, &str)>) -> Labels {
    let mut b: LabelsBuilder = labels.to_builder();
    b.set(METRIC_NAME, &format!("{base}{suffix}"));
    if let Some((n, v)) = extra {
        b.set(n, v);
    }
    b.build()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_deltas() {
        // spans (0,2),(2,1): indexes 0,1,4; deltas 1,+1,-1 -> 1,2,1
        let b = expand_buckets(&[(0, 2), (2, 1)], &[1, 1, -1], &[]).unwrap();
        assert_eq!(b, vec![(0, 1.0), (1, 2.0), (4, 1.0)]);
        assert!(expand_buckets(&[(0, 2)], &[1], &[])
            .unwrap_err()
            .contains("cover 2 buckets"));
        assert!(expand_buckets(&[(0, 1)], &[-1], &[])
            .unwrap_err()
            .contains("negative"));
        let f = expand_buckets(&[(-2, 2)], &[], &[0.5, 1.5]).unwrap();
        assert_eq!(f, vec![(-2, 0.5), (-1, 1.5)]);
    }

    #[test]
    fn exponential_to_classic() {
        let h = NativeHistogram {
            schema: 0,
            zero_threshold: 0.001,
            zero_count: 1.0,
            count: 7.0,
            sum: Some(10.0),
            positive: vec![(0, 2.0), (2, 3.0)],
            negative: vec![(1, 1.0)],
            custom_values: vec![],
        };
        let b = h.classic_buckets().unwrap();
        assert_eq!(
            b,
            vec![
                (-1.0, 1.0),
                (0.001, 2.0),
                (1.0, 4.0),
                (4.0, 7.0),
                (f64::INFINITY, 7.0)
            ]
        );
    }

    #[test]
    fn custom_to_classic() {
        let h = NativeHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count: 6.0,
            sum: Some(3.0),
            positive: vec![(0, 1.0), (2, 2.0), (3, 3.0)],
            custom_values: vec![0.1, 0.5, 1.0],
            ..Default::default()
        };
        let b = h.classic_buckets().unwrap();
        assert_eq!(b, vec![(0.1, 1.0), (0.5, 1.0), (1.0, 3.0), (f64::INFINITY, 6.0)]);
        let bad = NativeHistogram {
            schema: 9,
            ..Default::default()
        };
        assert!(bad.classic_buckets().unwrap_err().contains("schema 9"));
    }

    #[test]
    fn le_format() {
        assert_eq!(format_le(0.25), "0.25");
        assert_eq!(format_le(1000.0), "1000");
        assert_eq!(format_le(f64::INFINITY), "+Inf");
    }
}
