//! Label sets: opaque, sorted by name, cheap to clone.

use std::fmt;
use std::sync::Arc;

/// The label name that carries the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One label: a name and a value. Strings are reference counted so that the head's
/// interned symbols can be shared between series without copying.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    /// The label name.
    pub name: Arc<str>,
    /// The label value (never empty inside a [`Labels`]: an empty value means "absent").
    pub value: Arc<str>,
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.name, self.value)
    }
}

/// A set of labels identifying a series, sorted by name with unique names.
///
/// Built only through [`LabelsBuilder`] or [`Labels::from_pairs`], which sort, drop empty
/// values and keep the last value of a repeated name, so every `Labels` is canonical and two
/// equal sets compare, hash and order equally. Cloning is one reference-count increment.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Labels(Arc<[Label]>);

impl Labels {
    /// The empty label set.
    pub fn empty() -> Self {
        Labels(Arc::from(Vec::new()))
    }

    /// Builds a canonical label set from (name, value) pairs in any order.
    pub fn from_pairs<N: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (N, V)>) -> Self {
        let mut b = LabelsBuilder::new();
        for (n, v) in pairs {
            b.set(n.as_ref(), v.as_ref());
        }
        b.build()
    }

    /// Builds from labels that are already sorted by name, unique, and non-empty.
    /// Falls back to sorting when they are not, so the result is always canonical.
    pub fn from_sorted(labels: Vec<Label>) -> Self {
        let ok =
            labels.windows(2).all(|w| w[0].name < w[1].name) && labels.iter().all(|l| !l.value.is_empty());
        if ok {
            return Labels(Arc::from(labels));
        }
        let mut b = LabelsBuilder::new();
        for l in labels {
            b.set_arc(l.name, l.value);
        }
        b.build()
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_ref().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_ref())
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set has no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates labels in name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    /// The labels as a slice, sorted by name.
    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// A stable 64-bit hash of the set (xxh3 over names and values with separators).
    /// Stable across processes and versions, so it may be persisted.
    pub fn stable_hash(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in self.0.iter() {
            h.update(l.name.as_bytes());
            h.update(&[0xff]);
            h.update(l.value.as_bytes());
            h.update(&[0xff]);
        }
        h.digest()
    }

    /// A builder starting from this set, to add, change or remove labels.
    pub fn to_builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            labels: self.0.to_vec(),
        }
    }

    /// The set without `__name__`.
    pub fn without_metric_name(&self) -> Labels {
        if self.get(METRIC_NAME).is_none() {
            return self.clone();
        }
        let mut b = self.to_builder();
        b.remove(METRIC_NAME);
        b.build()
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Formats as Prometheus does: `name{a="1", b="2"}` with Go-style escaping.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.metric_name();
        if let Some(n) = name {
            f.write_str(n)?;
        }
        let rest: Vec<&Label> = self.0.iter().filter(|l| l.name.as_ref() != METRIC_NAME).collect();
        if rest.is_empty() && name.is_some() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, l) in rest.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={:?}", l.name, l.value.as_ref())?;
        }
        f.write_str("}")
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Builds a [`Labels`]: set and remove by name in any order, then [`LabelsBuilder::build`].
#[derive(Clone, Debug, Default)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
}

impl LabelsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`; an empty value removes the label (Prometheus semantics).
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.set_arc(Arc::from(name), Arc::from(value))
    }

    /// Like [`LabelsBuilder::set`] with already shared strings (no copy).
    pub fn set_arc(&mut self, name: Arc<str>, value: Arc<str>) -> &mut Self {
        match self.labels.iter().position(|l| l.name == name) {
            Some(i) if value.is_empty() => {
                self.labels.remove(i);
            }
            Some(i) => self.labels[i].value = value,
            None if value.is_empty() => {}
            None => self.labels.push(Label { name, value }),
        }
        self
    }

    /// Removes `name` if present.
    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.labels.retain(|l| l.name.as_ref() != name);
        self
    }

    /// Keeps only the labels whose names satisfy `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) -> &mut Self {
        self.labels.retain(|l| keep(&l.name));
        self
    }

    /// The current value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| l.name.as_ref() == name)
            .map(|l| l.value.as_ref())
    }

    /// Sorts and freezes the set.
    pub fn build(&self) -> Labels {
        let mut v = self.labels.clone();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Labels(Arc::from(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_order_and_empty_values() {
        let a = Labels::from_pairs([("b", "2"), ("a", "1"), ("c", "")]);
        let b = Labels::from_pairs([("a", "1"), ("b", "2")]);
        assert_eq!(a, b);
        assert_eq!(a.stable_hash(), b.stable_hash());
        assert_eq!(a.len(), 2);
        assert_eq!(a.get("a"), Some("1"));
        assert_eq!(a.get("c"), None);
    }

    #[test]
    fn display_like_prometheus() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a\"b")]);
        assert_eq!(l.to_string(), r#"up{job="a\"b"}"#);
        assert_eq!(Labels::from_pairs([("__name__", "up")]).to_string(), "up");
        assert_eq!(Labels::from_pairs([("a", "1")]).to_string(), r#"{a="1"}"#);
    }

    #[test]
    fn from_sorted_fixes_unsorted_input() {
        let l = Labels::from_sorted(vec![
            Label {
                name: "z".into(),
                value: "1".into(),
            },
            Label {
                name: "a".into(),
                value: "2".into(),
            },
        ]);
        assert_eq!(l.as_slice()[0].name.as_ref(), "a");
    }
}
