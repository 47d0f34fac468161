//! One benchmark query and its canonical answer, as every system under test is asked it.

use std::collections::BTreeMap;

/// One benchmark query.
pub(crate) struct Query {
    /// The PromQL expression.
    pub expr: String,
    /// `None` = instant at `end`; `Some(step_s)` = range over the whole span.
    pub step_s: Option<i64>,
    /// Start (s).
    pub start_s: i64,
    /// End / evaluation time (s).
    pub end_s: i64,
}

/// A canonical answer: label set -> points (t ms, value string), or an error text.
#[derive(Default, Debug, Clone, PartialEq)]
pub(crate) struct QueryAnswer {
    /// Series.
    pub series: BTreeMap<String, Vec<(i64, String)>>,
    /// Error, if the query failed.
    pub error: Option<String>,
}

impl Query {
    /// Runs the query once.
    pub(crate) async fn run(&self, client: &reqwest::Client, base: &str) -> QueryAnswer {
        let mut form = vec![("query", self.expr.clone())];
        let path = match self.step_s {
            Some(step) => {
                form.push(("start", self.start_s.to_string()));
                form.push(("end", self.end_s.to_string()));
                form.push(("step", step.to_string()));
                "/api/v1/query_range"
            }
            None => {
                form.push(("time", self.end_s.to_string()));
                "/api/v1/query"
            }
        };
        let resp = match client.get(format!("{base}{path}")).query(&form).send().await {
            Ok(r) => r,
            Err(e) => {
                return QueryAnswer {
                    error: Some(e.to_string()),
                    ..Default::default()
                }
            }
        };
        let v: serde_json::Value = match resp.json().await {
            Ok(v) => v,
            Err(e) => {
                return QueryAnswer {
                    error: Some(e.to_string()),
                    ..Default::default()
                }
            }
        };
        if v["status"] != "success" {
            return QueryAnswer {
                error: Some(v["error"].to_string()),
                ..Default::default()
            };
        }
        let mut series = BTreeMap::new();
        let point = |p: &serde_json::Value| {
            (
                (p[0].as_f64().unwrap_or(0.0) * 1000.0).round() as i64,
                p[1].as_str().unwrap_or("").to_string(),
            )
        };
        if let Some(arr) = v["data"]["result"].as_array() {
            for s in arr {
                let pts = match s["values"].as_array() {
                    Some(vals) => vals.iter().map(point).collect(),
                    None => vec![point(&s["value"])],
                };
                series.insert(s["metric"].to_string(), pts);
            }
        }
        QueryAnswer { series, error: None }
    }
}
