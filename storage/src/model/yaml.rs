//! Reading Prometheus-style YAML configuration: one parser set-up and one rule for null.
//!
//! Prometheus reads its files with Go's YAML decoder, where a key with no value (`rule_files:`
//! followed only by comments, `targets:` with every entry commented out, `global:` alone) is
//! the same as the key left out. [`nullable`] gives a field that meaning; [`from_str`] parses
//! with error messages that say what is wrong and where once (`unknown field `x`, expected one
//! of ... at line 3, column 5`), without a repeated source snippet.

use serde::{Deserialize, Deserializer};

/// Parses YAML `text` into `T`; the error names the key it is about (`scrape_configs[0].
/// sample_limit: invalid u64 at line 5, column 19`), the problem, and its line and column.
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    let mut path = String::new();
    let parsed = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = e.path().to_string();
            e.into_inner()
        })
    });
    parsed.map_err(|e| {
        let msg = e.to_string();
        // An unknown field's message already names it; "." is the document itself.
        if path.is_empty() || path == "." || msg.starts_with("unknown field") {
            msg
        } else {
            format!("{path}: {msg}")
        }
    })
}

/// For `#[serde(default, deserialize_with = "storage::model::yaml::nullable")]`: a null value
/// (a key written with nothing after it) is the field's default, as in Prometheus.
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[serde(default)]
        n: u32,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        #[serde(default, deserialize_with = "nullable")]
        inner: Inner,
        #[serde(default, deserialize_with = "nullable")]
        list: Vec<String>,
        #[serde(default, deserialize_with = "nullable")]
        map: std::collections::BTreeMap<String, String>,
    }

    #[test]
    fn null_is_the_default() {
        let o: Outer = from_str("inner:\n  # n: 3\nlist:\n  # - a\nmap: ~\n").expect("nulls");
        assert_eq!(
            o,
            Outer {
                inner: Inner::default(),
                list: vec![],
                map: Default::default()
            }
        );
        let o: Outer = from_str("inner: {n: 2}\nlist: [a]\n").expect("values");
        assert_eq!(o.inner.n, 2);
        assert_eq!(o.list, ["a"]);
    }

    #[test]
    fn errors_name_the_field_once_with_the_place() {
        let e = from_str::<Outer>("list: []\nlistt: 1\n").expect_err("unknown field");
        assert_eq!(e.matches("listt").count(), 1, "{e}");
        assert_eq!(e.matches("expected one of").count(), 1, "{e}");
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn type_errors_name_the_key() {
        let e = from_str::<Outer>("inner:\n  n: -1\n").expect_err("negative");
        assert!(e.starts_with("inner.n: "), "{e}");
        let e = from_str::<Outer>("list: a\n").expect_err("not a list");
        assert!(e.starts_with("list: "), "{e}");
    }
}
