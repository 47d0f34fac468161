//! The metadata (HELP/TYPE/UNIT lines) a target exposed in its last good scrape.
//!
//! Kept as an immutable [`MetaLines`] snapshot: the lines in body order, their text in one
//! string. Targets exposing the same metadata (a fleet of the same exporter) share one
//! snapshot through a process-wide pool, so a thousand node_exporters keep one copy of their
//! help texts. A scrape compares its metadata lines one by one with the snapshot
//! ([`MetaDiff`]); only when a line differs is a new snapshot built.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use storage::{MetricMetadata, MetricType};

/// What a metadata line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Help,
    Type(MetricType),
    Unit,
}

/// One line: its kind, and the spans of its family name and text (help or unit) in the
/// snapshot's string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Line {
    kind: Kind,
    family: (u32, u32),
    text: (u32, u32),
}

/// The metadata lines of one scrape, in body order. See the module docs.
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct MetaLines {
    text: String,
    lines: Vec<Line>,
}

impl MetaLines {
    fn span(&self, (off, len): (u32, u32)) -> &str {
        self.text
            .get(off as usize..off as usize + len as usize)
            .unwrap_or("")
    }

    fn push(&mut self, kind: Kind, family: &str, text: &str) -> bool {
        if self.text.len() + family.len() + text.len() > u32::MAX as usize {
            return false;
        }
        let f = (self.text.len() as u32, family.len() as u32);
        self.text.push_str(family);
        let t = (self.text.len() as u32, text.len() as u32);
        self.text.push_str(text);
        self.lines.push(Line {
            kind,
            family: f,
            text: t,
        });
        true
    }

    fn line_is(&self, i: usize, kind: Kind, family: &str, text: &str) -> bool {
        self.lines
            .get(i)
            .is_some_and(|l| l.kind == kind && self.span(l.family) == family && self.span(l.text) == text)
    }

    /// The first `n` lines as a new snapshot.
    fn prefix(&self, n: usize) -> MetaLines {
        let mut out = MetaLines::default();
        for l in &self.lines[..n.min(self.lines.len())] {
            out.push(l.kind, self.span(l.family), self.span(l.text));
        }
        out
    }

    /// The metadata of each family, as the lines say it (a later line wins; a field no line
    /// gives is empty, or `unknown` for the type).
    pub(crate) fn to_map(&self) -> HashMap<String, MetricMetadata> {
        let mut out: HashMap<String, MetricMetadata> = HashMap::new();
        for l in &self.lines {
            let m = out
                .entry(self.span(l.family).to_string())
                .or_insert_with(|| MetricMetadata {
                    metric_type: MetricType::Unknown,
                    help: String::new(),
                    unit: String::new(),
                });
            match l.kind {
                Kind::Help => m.help = self.span(l.text).to_string(),
                Kind::Type(t) => m.metric_type = t,
                Kind::Unit => m.unit = self.span(l.text).to_string(),
            }
        }
        out
    }

    /// The families whose metadata in `self` differs from `old` (or is not in it), sorted.
    pub(crate) fn changed_since(&self, old: &MetaLines) -> Vec<(String, MetricMetadata)> {
        let before = old.to_map();
        let mut out: Vec<(String, MetricMetadata)> = self
            .to_map()
            .into_iter()
            .filter(|(f, m)| before.get(f) != Some(m))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The shared snapshot equal to `self` (this one, if no target has it yet).
    pub(crate) fn shared(self) -> Arc<MetaLines> {
        static POOL: OnceLock<Mutex<Pool>> = OnceLock::new();
        let mut pool = POOL.get_or_init(|| Mutex::new(Pool::default())).lock();
        if let Some(s) = pool.set.get(&self) {
            return s.clone();
        }
        // Forget snapshots no target uses any more, once the pool has doubled since.
        if pool.set.len() >= pool.gc_at {
            pool.set.retain(|s| Arc::strong_count(s) > 1);
            pool.gc_at = (pool.set.len() * 2).max(64);
        }
        let s = Arc::new(self);
        pool.set.insert(s.clone());
        s
    }
}

/// The process-wide set of snapshots in use.
#[derive(Default)]
struct Pool {
    set: std::collections::HashSet<Arc<MetaLines>, foldhash::fast::RandomState>,
    gc_at: usize,
}

/// Compares a scrape's metadata lines with the previous snapshot, building a new one only
/// from the first line that differs.
pub(crate) struct MetaDiff<'a> {
    old: &'a MetaLines,
    pos: usize,
    new: Option<MetaLines>,
    /// A line too long to keep (the snapshot's text over 4 GiB): the rest is not recorded.
    full: bool,
}

impl<'a> MetaDiff<'a> {
    /// A comparison against `old`.
    pub(crate) fn new(old: &'a MetaLines) -> Self {
        MetaDiff {
            old,
            pos: 0,
            new: None,
            full: false,
        }
    }

    fn see(&mut self, kind: Kind, family: &str, text: &str) {
        if self.new.is_none() {
            if self.old.line_is(self.pos, kind, family, text) {
                self.pos += 1;
                return;
            }
            self.new = Some(self.old.prefix(self.pos));
        }
        if let Some(n) = &mut self.new {
            if !self.full && !n.push(kind, family, text) {
                self.full = true;
            }
        }
    }

    /// A `# HELP` line.
    pub(crate) fn help(&mut self, family: &str, help: &str) {
        self.see(Kind::Help, family, help);
    }

    /// A `# TYPE` line.
    pub(crate) fn metric_type(&mut self, family: &str, t: MetricType) {
        self.see(Kind::Type(t), family, "");
    }

    /// A `# UNIT` line.
    pub(crate) fn unit(&mut self, family: &str, unit: &str) {
        self.see(Kind::Unit, family, unit);
    }

    /// The new snapshot, or `None` when the scrape had exactly the old lines.
    pub(crate) fn finish(self) -> Option<MetaLines> {
        match self.new {
            Some(n) => Some(n),
            None if self.pos == self.old.lines.len() => None,
            None => Some(self.old.prefix(self.pos)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lines(src: &[(&str, &str, &str)]) -> Option<MetaLines> {
        lines_after(&MetaLines::default(), src)
    }

    fn lines_after(old: &MetaLines, src: &[(&str, &str, &str)]) -> Option<MetaLines> {
        let mut d = MetaDiff::new(old);
        for &(kind, family, text) in src {
            match kind {
                "HELP" => d.help(family, text),
                "TYPE" => d.metric_type(
                    family,
                    if text == "counter" {
                        MetricType::Counter
                    } else {
                        MetricType::Gauge
                    },
                ),
                _ => d.unit(family, text),
            }
        }
        d.finish()
    }

    #[test]
    fn unchanged_scrape_builds_nothing_and_changes_are_reported() {
        let first = [
            ("HELP", "a", "A things"),
            ("TYPE", "a", "counter"),
            ("HELP", "b", "B"),
        ];
        let l1 = lines(&first).unwrap();
        let m = l1.to_map();
        assert_eq!(m["a"].help, "A things");
        assert_eq!(m["a"].metric_type, MetricType::Counter);
        assert_eq!(m["b"].metric_type, MetricType::Unknown);
        assert_eq!(l1.changed_since(&MetaLines::default()).len(), 2);
        assert!(lines_after(&l1, &first).is_none(), "same lines");
        // One help text changes: only that family is reported.
        let l2 = lines_after(
            &l1,
            &[
                ("HELP", "a", "A things"),
                ("TYPE", "a", "counter"),
                ("HELP", "b", "B2"),
            ],
        )
        .unwrap();
        let changed = l2.changed_since(&l1);
        assert_eq!(changed.len(), 1);
        assert_eq!((changed[0].0.as_str(), changed[0].1.help.as_str()), ("b", "B2"));
        // Fewer lines: the prefix; a unit line.
        let l3 = lines_after(&l1, &[("HELP", "a", "A things")]).unwrap();
        assert_eq!(l3.to_map()["a"].metric_type, MetricType::Unknown);
        let l4 = lines_after(&l3, &[("HELP", "a", "A things"), ("UNIT", "a", "seconds")]).unwrap();
        assert_eq!(l4.to_map()["a"].unit, "seconds");
    }

    #[test]
    fn equal_snapshots_are_shared() {
        let a = lines(&[("HELP", "shared_x", "X")]).unwrap().shared();
        let b = lines(&[("HELP", "shared_x", "X")]).unwrap().shared();
        let c = lines(&[("HELP", "shared_x", "Y")]).unwrap().shared();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        // Family and text boundaries are part of the identity.
        let d = lines(&[("HELP", "ab", "c")]).unwrap();
        let e = lines(&[("HELP", "a", "bc")]).unwrap();
        assert_ne!(d, e);
    }
}
