//! The head's inverted index (label name -> value -> sorted series references) and its
//! interned symbol table.

use crate::index::postings::{self, intersect};
use crate::model::{Labels, MatchOp, Matcher};
use foldhash::{HashMap, HashSet};
use parking_lot::{Mutex, RwLock};
use std::sync::Arc;

/// Interned strings: every label name and value in the head is stored once.
pub(crate) struct Symbols {
    stripes: Vec<Mutex<HashSet<Arc<str>>>>,
}

impl Symbols {
    pub(crate) fn new() -> Self {
        Symbols {
            stripes: (0..16).map(|_| Mutex::new(HashSet::default())).collect(),
        }
    }

    fn stripe(&self, s: &str) -> &Mutex<HashSet<Arc<str>>> {
        let h = xxhash_rust::xxh3::xxh3_64(s.as_bytes());
        &self.stripes[(h % self.stripes.len() as u64) as usize]
    }

    /// The shared copy of `s`.
    pub(crate) fn intern(&self, s: &str) -> Arc<str> {
        let mut set = self.stripe(s).lock();
        if let Some(a) = set.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        set.insert(a.clone());
        a
    }

    /// Drops symbols no series uses any more.
    pub(crate) fn sweep(&self) -> usize {
        let mut removed = 0;
        for s in &self.stripes {
            let mut set = s.lock();
            let before = set.len();
            set.retain(|a| Arc::strong_count(a) > 1);
            removed += before - set.len();
        }
        removed
    }

    /// Number of symbols.
    pub(crate) fn len(&self) -> usize {
        self.stripes.iter().map(|s| s.lock().len()).sum()
    }
}

#[derive(Default)]
struct Inner {
    by_name: HashMap<Arc<str>, HashMap<Arc<str>, Vec<u64>>>,
    all: Vec<u64>,
}

/// Label pair -> sorted postings.
#[derive(Default)]
pub(crate) struct Postings {
    inner: RwLock<Inner>,
}

fn insert_sorted(v: &mut Vec<u64>, id: u64) {
    // Ids are handed out increasing, so this is nearly always a push.
    match v.last() {
        Some(&last) if last >= id => {
            let i = v.partition_point(|&x| x < id);
            if v.get(i) != Some(&id) {
                v.insert(i, id);
            }
        }
        _ => v.push(id),
    }
}

impl Postings {
    /// Adds series `id` with `labels` (whose strings should be interned).
    pub(crate) fn add(&self, id: u64, labels: &Labels) {
        let mut g = self.inner.write();
        insert_sorted(&mut g.all, id);
        for l in labels.iter() {
            let values = g.by_name.entry(l.name.clone()).or_default();
            insert_sorted(values.entry(l.value.clone()).or_default(), id);
        }
    }

    /// How many series have `name="value"`.
    pub(crate) fn count(&self, name: &str, value: &str) -> usize {
        self.inner
            .read()
            .by_name
            .get(name)
            .and_then(|v| v.get(value))
            .map_or(0, Vec::len)
    }

    /// Removes the series `ids` (with their labels).
    pub(crate) fn remove(&self, gone: &[(u64, Labels)]) {
        if gone.is_empty() {
            return;
        }
        let ids: HashSet<u64> = gone.iter().map(|(id, _)| *id).collect();
        let mut g = self.inner.write();
        g.all.retain(|x| !ids.contains(x));
        let mut touched: HashSet<(Arc<str>, Arc<str>)> = HashSet::default();
        for (_, labels) in gone {
            for l in labels.iter() {
                touched.insert((l.name.clone(), l.value.clone()));
            }
        }
        for (name, value) in touched {
            let Some(values) = g.by_name.get_mut(&name) else {
                continue;
            };
            if let Some(list) = values.get_mut(&value) {
                list.retain(|x| !ids.contains(x));
                if list.is_empty() {
                    values.remove(&value);
                }
            }
            if values.is_empty() {
                g.by_name.remove(&name);
            }
        }
    }

    /// Sorted references of the series matching all `matchers` (all series if none).
    pub(crate) fn resolve(&self, matchers: &[Matcher]) -> Vec<u64> {
        let g = self.inner.read();
        let mut result: Option<Vec<u64>> = None;
        let mut subtract: Vec<Vec<u64>> = Vec::new();
        // Matchers with a finite value set first: they narrow the most.
        let mut order: Vec<&Matcher> = matchers.iter().collect();
        order.sort_by_key(|m| m.set_matches().is_none());
        for m in order {
            let values = g.by_name.get(m.name.as_str());
            if m.matches_empty() {
                // Series without the label match; remove those whose value does not.
                let Some(values) = values else { continue };
                let lists: Vec<&Vec<u64>> = if m.op == MatchOp::NotEqual {
                    values.get(m.value.as_str()).into_iter().collect()
                } else {
                    values
                        .iter()
                        .filter(|(v, _)| !m.matches(v))
                        .map(|(_, l)| l)
                        .collect()
                };
                if !lists.is_empty() {
                    subtract.push(union(&lists));
                }
                continue;
            }
            let Some(values) = values else { return Vec::new() };
            let lists: Vec<&Vec<u64>> = match m.set_matches() {
                Some(set) => set.iter().filter_map(|v| values.get(*v)).collect(),
                None => values
                    .iter()
                    .filter(|(v, _)| m.matches(v))
                    .map(|(_, l)| l)
                    .collect(),
            };
            let p = union(&lists);
            result = Some(match result {
                None => p,
                Some(r) => intersect(&r, &p),
            });
            if result.as_ref().is_some_and(Vec::is_empty) {
                return Vec::new();
            }
        }
        let mut r = result.unwrap_or_else(|| g.all.clone());
        for s in &subtract {
            r = postings::subtract(&r, s);
        }
        r
    }

    /// Label names with at least one series, unsorted, with one posting list per value.
    pub(crate) fn names(&self) -> Vec<(String, Vec<Vec<u64>>)> {
        let g = self.inner.read();
        g.by_name
            .iter()
            .map(|(n, vals)| (n.to_string(), vals.values().cloned().collect()))
            .collect()
    }

    /// Values of label `name` with their postings, unsorted.
    pub(crate) fn values(&self, name: &str) -> Vec<(String, Vec<u64>)> {
        let g = self.inner.read();
        g.by_name
            .get(name)
            .map(|vals| vals.iter().map(|(v, l)| (v.to_string(), l.clone())).collect())
            .unwrap_or_default()
    }

    /// The head's cardinality tables, each largest first and cut to `limit` rows.
    pub(crate) fn cardinality_tables(&self, limit: usize) -> super::HeadCardinality {
        let g = self.inner.read();
        let top = |mut v: Vec<(String, u64)>| {
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(limit);
            v
        };
        let by_metric = g
            .by_name
            .get(crate::model::METRIC_NAME)
            .map(|vals| {
                vals.iter()
                    .map(|(v, l)| (v.to_string(), l.len() as u64))
                    .collect()
            })
            .unwrap_or_default();
        let values_per_name = g
            .by_name
            .iter()
            .map(|(n, vals)| (n.to_string(), vals.len() as u64))
            .collect();
        let series_per_pair = g
            .by_name
            .iter()
            .flat_map(|(n, vals)| {
                vals.iter()
                    .map(move |(v, l)| (format!("{n}={v}"), l.len() as u64))
            })
            .collect();
        let bytes_per_name = g
            .by_name
            .iter()
            .map(|(n, vals)| {
                let bytes: usize = vals.iter().map(|(v, l)| v.len() * l.len()).sum();
                (n.to_string(), bytes as u64)
            })
            .collect();
        super::HeadCardinality {
            series_count_by_metric_name: top(by_metric),
            label_value_count_by_label_name: top(values_per_name),
            series_count_by_label_value_pair: top(series_per_pair),
            memory_in_bytes_by_label_name: top(bytes_per_name),
        }
    }

    /// Number of distinct values per label name, largest first.
    pub(crate) fn cardinality(&self) -> Vec<(String, usize)> {
        let g = self.inner.read();
        let mut v: Vec<(String, usize)> = g
            .by_name
            .iter()
            .map(|(n, vals)| (n.to_string(), vals.len()))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

/// Sorted, deduplicated union.
pub(crate) fn union(lists: &[&Vec<u64>]) -> Vec<u64> {
    match lists {
        [] => Vec::new(),
        [one] => (*one).clone(),
        _ => {
            let mut v: Vec<u64> = lists.iter().flat_map(|l| l.iter().copied()).collect();
            v.sort_unstable();
            v.dedup();
            v
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn m(op: MatchOp, n: &str, v: &str) -> Matcher {
        Matcher::new(op, n, v).unwrap()
    }

    fn index() -> (Postings, Vec<Labels>) {
        let p = Postings::default();
        let all: Vec<Labels> = vec![
            Labels::from_pairs([("__name__", "up"), ("job", "api"), ("env", "prod")]),
            Labels::from_pairs([("__name__", "up"), ("job", "web")]),
            Labels::from_pairs([("__name__", "up"), ("job", "db"), ("env", "dev")]),
            Labels::from_pairs([("__name__", "cpu"), ("job", "api"), ("env", "")]),
        ];
        for (i, l) in all.iter().enumerate() {
            p.add(i as u64 + 1, l);
        }
        (p, all)
    }

    /// Checks `resolve` against a brute-force evaluation of every matcher on every series.
    #[track_caller]
    fn check(ms: &[Matcher]) {
        let (p, all) = index();
        let want: Vec<u64> = all
            .iter()
            .enumerate()
            .filter(|(_, l)| ms.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))))
            .map(|(i, _)| i as u64 + 1)
            .collect();
        assert_eq!(p.resolve(ms), want, "{ms:?}");
    }

    #[test]
    fn all_four_matcher_kinds_agree_with_brute_force() {
        use MatchOp::*;
        check(&[]);
        check(&[m(Equal, "__name__", "up")]);
        check(&[m(Equal, "__name__", "up"), m(NotEqual, "job", "api")]);
        check(&[m(Equal, "__name__", "up"), m(NotEqual, "env", "prod")]);
        check(&[m(Regex, "job", "a.*|d.*")]);
        check(&[m(Regex, "job", "api|web")]);
        check(&[m(Regex, "env", ".*")]);
        check(&[m(Regex, "env", ".+")]);
        check(&[m(Regex, "env", "|dev")]);
        check(&[m(NotRegex, "env", "prod|dev"), m(Regex, "__name__", ".+")]);
        check(&[m(NotRegex, "env", "")]);
        check(&[m(Equal, "env", "")]);
        check(&[m(Equal, "missing", "")]);
        check(&[m(Equal, "missing", "x")]);
        check(&[m(NotEqual, "missing", "x")]);
        check(&[m(Equal, "__name__", "up"), m(Equal, "job", "nope")]);
    }

    #[test]
    fn removal_and_set_ops() {
        let (p, all) = index();
        p.remove(&[(1, all[0].clone()), (3, all[2].clone())]);
        assert_eq!(p.resolve(&[m(MatchOp::Equal, "__name__", "up")]), vec![2]);
        assert!(p.values("env").is_empty());
        let c = p.cardinality_tables(10);
        assert_eq!(
            c.series_count_by_metric_name,
            vec![("cpu".to_string(), 1), ("up".to_string(), 1)]
        );
        assert_eq!(c.label_value_count_by_label_name[0], ("__name__".to_string(), 2));
        assert_eq!(intersect(&[1u64, 3, 5, 7], &[2, 3, 7, 9]), vec![3, 7]);
        assert_eq!(postings::subtract(&[1u64, 3, 5, 7], &[3, 4, 7]), vec![1, 5]);
        assert_eq!(union(&[&vec![5, 1], &vec![1, 2]]), vec![1, 2, 5]);
        let s = Symbols::new();
        let a = s.intern("x");
        assert!(Arc::ptr_eq(&a, &s.intern("x")));
        assert_eq!(s.sweep(), 0);
        drop(a);
        assert_eq!(s.sweep(), 1);
    }
}
