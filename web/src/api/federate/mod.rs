//! `/federate`: the latest sample of every series matching `match[]`, as Prometheus'
//! federation handler (`web/federate.go`) serves it.
//!
//! - The format is negotiated from `Accept` ([`negotiate`]): the delimited protobuf format
//!   (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
//!   encoding=delimited`, what a Prometheus scraping native histograms asks for first)
//!   carries native histograms ([`proto`]); the text format ([`text`]) cannot, so it leaves
//!   exponential histograms out and writes custom-bucket histograms as classic ones.
//! - Floats go in untyped families, histograms in histogram (or gauge histogram) families;
//!   a new family starts whenever the name or the kind changes from one series to the next.
//! - Every sample carries its timestamp; stale series are left out (no format has a
//!   staleness marker).
//! - External labels are appended where the series lacks them, and `instance=""` too when
//!   the series has no instance, so the federating server does not attach its own.

mod negotiate;
mod proto;
mod text;

use super::params::{parse_matcher_sets, Params};
use crate::WebState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use negotiate::Format;
use std::collections::BTreeMap;
use std::sync::Arc;
use storage::{is_stale_nan, FloatHistogram, Labels, SelectHints, METRIC_NAME};

/// The value of a federated sample.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A float.
    Float(f64),
    /// A native histogram.
    Histogram(FloatHistogram),
}

/// The newest sample of one series at or before the federation time.
#[derive(Clone, Debug, PartialEq)]
pub struct Latest {
    /// The series.
    pub labels: Labels,
    /// Its timestamp (ms).
    pub t: i64,
    /// Its value.
    pub value: Value,
}

/// What a family holds: the text and protobuf formats start a new family when it changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Float,
    Histogram,
    GaugeHistogram,
}

impl Latest {
    fn kind(&self) -> Kind {
        match &self.value {
            Value::Float(_) => Kind::Float,
            Value::Histogram(h) if h.counter_reset_hint == storage::CounterResetHint::Gauge => {
                Kind::GaugeHistogram
            }
            Value::Histogram(_) => Kind::Histogram,
        }
    }
}

/// The label pairs written for a sample: its own labels (without the name) in order, then
/// the external labels (with `instance=""` added when there is no external `instance`)
/// that the series lacks, by name.
fn label_pairs<'a>(labels: &'a Labels, external: &'a [(String, String)]) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = labels
        .iter()
        .filter(|l| l.name.as_ref() != METRIC_NAME)
        .map(|l| (l.name.as_ref(), l.value.as_ref()))
        .collect();
    for (n, v) in external {
        if labels.get(n).is_none() {
            out.push((n.as_str(), v.as_str()));
        }
    }
    out
}

/// The external labels to append, sorted by name, with `instance=""` when absent.
fn external_pairs(external: &Labels) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = external
        .iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect();
    if external.get("instance").is_none() {
        out.push(("instance".into(), String::new()));
    }
    out.sort();
    out
}

/// The newest sample of `s` at or before `maxt`, float or histogram; `None` when there is
/// none or it is a staleness marker.
fn latest_of(s: storage::Series, maxt: i64) -> Option<Latest> {
    let float = s.samples.iter().rev().find(|x| x.t <= maxt);
    let hist = s.histograms.iter().rev().find(|x| x.t <= maxt);
    let (t, value) = match (float, hist) {
        (Some(f), Some(h)) if h.t > f.t => (h.t, Value::Histogram(h.h.clone())),
        (Some(f), _) => (f.t, Value::Float(f.v)),
        (None, Some(h)) => (h.t, Value::Histogram(h.h.clone())),
        (None, None) => return None,
    };
    let stale = match &value {
        Value::Float(v) => is_stale_nan(*v),
        Value::Histogram(h) => h.is_stale(),
    };
    (!stale).then_some(Latest {
        labels: s.labels,
        t,
        value,
    })
}

/// `GET /federate?match[]=...`.
pub async fn federate(State(st): State<Arc<WebState>>, headers: HeaderMap, p: Params) -> Response {
    let selectors = p.all("match[]");
    let sets = match parse_matcher_sets(&selectors) {
        Ok(s) => s,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = negotiate::negotiate(accept);
    let maxt = super::now_ms();
    let mint = maxt - st.engine.options().lookback_delta_ms;
    let result = super::blocking(move || {
        let q = st
            .queryable
            .querier(mint, maxt)
            .map_err(super::ApiError::from_storage)?;
        // One entry per series, however many selectors match it, in label order.
        let mut latest: BTreeMap<Labels, Latest> = BTreeMap::new();
        for set in &sets {
            for s in q
                .select(&SelectHints { mint, maxt }, set)
                .map_err(super::ApiError::from_storage)?
            {
                if latest.contains_key(&s.labels) {
                    continue;
                }
                if let Some(l) = latest_of(s, maxt) {
                    latest.insert(l.labels.clone(), l);
                }
            }
        }
        let samples: Vec<Latest> = latest.into_values().collect();
        let external = external_pairs(&st.external_labels);
        Ok(match format {
            Format::Text => text::write(&samples, &external).into_bytes(),
            Format::ProtoDelimited => proto::write(&samples, &external),
        })
    })
    .await;
    match result {
        Ok(body) => {
            let mut resp = body.into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            );
            resp
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{}\n", e.message)).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storage::{HistogramSample, Sample, Series};

    #[test]
    fn the_newest_sample_wins_whatever_its_type() {
        let l = Labels::from_pairs([("__name__", "m")]);
        let h = FloatHistogram {
            count: 1.0,
            sum: 2.0,
            ..Default::default()
        };
        let s = Series {
            labels: l.clone(),
            samples: vec![Sample::new(10, 1.0), Sample::new(30, 3.0)],
            histograms: vec![HistogramSample { t: 20, h: h.clone() }],
        };
        assert_eq!(latest_of(s.clone(), 100).map(|x| x.t), Some(30));
        assert_eq!(
            latest_of(s.clone(), 25).map(|x| x.value),
            Some(Value::Histogram(h))
        );
        let stale = Series {
            histograms: vec![HistogramSample {
                t: 40,
                h: FloatHistogram::stale(),
            }],
            ..s
        };
        assert_eq!(latest_of(stale, 100), None);
    }

    #[test]
    fn external_labels_and_an_empty_instance_are_appended() {
        let ext = external_pairs(&Labels::from_pairs([("zone", "a"), ("job", "x")]));
        let l = Labels::from_pairs([("__name__", "m"), ("job", "j"), ("b", "1")]);
        assert_eq!(
            label_pairs(&l, &ext),
            vec![("b", "1"), ("job", "j"), ("instance", ""), ("zone", "a")]
        );
        let with_instance = external_pairs(&Labels::from_pairs([("instance", "i")]));
        assert_eq!(with_instance, vec![("instance".to_string(), "i".to_string())]);
    }
}
