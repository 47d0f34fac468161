//! Building and validating the label sets of pushed series.
//!
//! Rules (remote-write spec, Prometheus' receiver):
//! - a series must have a non-empty `__name__`;
//! - label names must be non-empty and unique; values must be valid UTF-8 (names may use any
//!   UTF-8, as Prometheus 3 allows);
//! - labels that arrive unsorted are sorted (Prometheus' receiver does the same, and some
//!   senders, vmagent among them, add `job`/`instance` at the end);
//! - an empty value means "no such label" and is dropped;
//! - the per-series limits of [`PushLimits`] apply.

use super::limits::PushLimits;
use super::rejections::{note, Reason};
use foldhash::HashSet;
use std::sync::Arc;
use storage::{Label, Labels, METRIC_NAME};

/// Shares the `Arc<str>` of repeated names and values within one request, so 500 series
/// with `job="node"` hold one copy of `"job"` and `"node"`.
#[derive(Default)]
pub(crate) struct Interner {
    set: HashSet<Arc<str>>,
}

impl Interner {
    /// The shared string for `s`.
    pub(crate) fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.set.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        if self.set.len() < 1 << 20 {
            self.set.insert(a.clone());
        }
        a
    }
}

/// Collects one series' labels, then validates them into a canonical [`Labels`].
#[derive(Default)]
pub(crate) struct LabelsCollector {
    labels: Vec<Label>,
}

impl LabelsCollector {
    /// Starts a new series (keeps the allocation).
    pub(crate) fn clear(&mut self) {
        self.labels.clear();
    }

    /// Adds one label as sent.
    pub(crate) fn push(&mut self, name: Arc<str>, value: Arc<str>) {
        self.labels.push(Label { name, value });
    }

    /// Adds one label, interning its strings.
    pub(crate) fn push_str(&mut self, interner: &mut Interner, name: &str, value: &str) {
        let (n, v) = (interner.get(name), interner.get(value));
        self.push(n, v);
    }

    /// The labels as sent, for error messages.
    pub(crate) fn describe(&self) -> String {
        describe(&self.labels)
    }

    /// Validates and builds the canonical label set; the error says what is wrong and
    /// names the series.
    pub(crate) fn finish(&mut self, limits: &PushLimits) -> Result<Labels, String> {
        let sorted = self.labels.windows(2).all(|w| w[0].name < w[1].name);
        if !sorted {
            self.labels.sort_by(|a, b| a.name.cmp(&b.name));
            if let Some(w) = self.labels.windows(2).find(|w| w[0].name == w[1].name) {
                note(Reason::InvalidLabels);
                return Err(format!(
                    "duplicate label name {:?} in series {}",
                    w[0].name.as_ref(),
                    describe(&self.labels)
                ));
            }
        }
        let mut has_name = false;
        for l in &self.labels {
            if l.name.is_empty() {
                note(Reason::InvalidLabels);
                return Err(format!("empty label name in series {}", describe(&self.labels)));
            }
            if l.name.len() > limits.max_label_name_bytes {
                note(Reason::LabelNameLength);
                return Err(format!(
                    "label name of {} bytes is longer than the limit of {} in series {}",
                    l.name.len(),
                    limits.max_label_name_bytes,
                    describe(&self.labels)
                ));
            }
            if l.value.len() > limits.max_label_value_bytes {
                note(Reason::LabelValueLength);
                return Err(format!(
                    "value of label {:?} has {} bytes, more than the limit of {}, in series {}",
                    l.name.as_ref(),
                    l.value.len(),
                    limits.max_label_value_bytes,
                    describe(&self.labels)
                ));
            }
            if l.name.as_ref() == METRIC_NAME && !l.value.is_empty() {
                has_name = true;
            }
        }
        if !has_name {
            note(Reason::InvalidLabels);
            return Err(format!(
                "series {} has no metric name (__name__ label)",
                describe(&self.labels)
            ));
        }
        if self.labels.len() > limits.max_labels_per_series {
            note(Reason::LabelsPerSeries);
            return Err(format!(
                "series {} has {} labels, more than the limit of {}",
                describe(&self.labels),
                self.labels.len(),
                limits.max_labels_per_series
            ));
        }
        if self.labels.iter().any(|l| l.value.is_empty()) {
            self.labels.retain(|l| !l.value.is_empty());
        }
        Ok(Labels::from_sorted(std::mem::take(&mut self.labels)))
    }
}

/// `name{a="1", b="2"}` for labels in any order, shortened when very long.
fn describe(labels: &[Label]) -> String {
    let mut name = "";
    let mut rest = String::new();
    for l in labels {
        if l.name.as_ref() == METRIC_NAME && name.is_empty() {
            name = &l.value;
            continue;
        }
        if !rest.is_empty() {
            rest.push_str(", ");
        }
        rest.push_str(&format!("{}={:?}", l.name, l.value.as_ref()));
    }
    let mut s = format!("{name}{{{rest}}}");
    if s.len() > 512 {
        let mut cut = 512;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn collect(pairs: &[(&str, &str)]) -> LabelsCollector {
        let mut c = LabelsCollector::default();
        let mut i = Interner::default();
        for (n, v) in pairs {
            c.push_str(&mut i, n, v);
        }
        c
    }

    #[test]
    fn sorts_and_drops_empty_values() {
        let l = collect(&[("job", "a"), ("__name__", "up"), ("x", "")])
            .finish(&PushLimits::default())
            .unwrap();
        assert_eq!(l.to_string(), r#"up{job="a"}"#);
    }

    #[test]
    fn rejects_bad_sets() {
        let lim = PushLimits::default();
        let e = collect(&[("__name__", "up"), ("a", "1"), ("a", "2")])
            .finish(&lim)
            .unwrap_err();
        assert!(e.contains("duplicate label name \"a\""), "{e}");
        let e = collect(&[("a", "1"), ("__name__", "up"), ("a", "2")])
            .finish(&lim)
            .unwrap_err();
        assert!(e.contains("duplicate"), "{e}");
        let e = collect(&[("__name__", "up"), ("", "1")])
            .finish(&lim)
            .unwrap_err();
        assert!(e.contains("empty label name"), "{e}");
        let e = collect(&[("job", "a")]).finish(&lim).unwrap_err();
        assert!(e.contains("no metric name") && e.contains("job=\"a\""), "{e}");
        let small = PushLimits {
            max_labels_per_series: 1,
            ..PushLimits::default()
        };
        let e = collect(&[("__name__", "up"), ("a", "1")])
            .finish(&small)
            .unwrap_err();
        assert!(e.contains("more than the limit of 1"), "{e}");
        let small = PushLimits {
            max_label_value_bytes: 3,
            ..PushLimits::default()
        };
        let e = collect(&[("__name__", "up"), ("a", "1234")])
            .finish(&small)
            .unwrap_err();
        assert!(e.contains("label \"a\" has 4 bytes"), "{e}");
    }
}
