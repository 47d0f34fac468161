//! Service discovery: `static_configs`, `file_sd_configs` (JSON/YAML files, re-read when
//! their modification time or size changes, checked every `refresh_interval`) and
//! `http_sd_configs` (a URL returning target groups as JSON, fetched every
//! `refresh_interval`).
//!
//! Each provider sends its complete current list of groups on a channel whenever it
//! changes; a provider that fails keeps its last good groups, as Prometheus does.

use super::config::{FileSdConfig, HttpSdConfig, StaticConfig};
use super::target::TargetGroup;
use crate::client::{build_client, error_chain, with_auth};
use crate::relabel::is_valid_label_name;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

/// `__meta_filepath`, the file a file_sd group came from.
pub const META_FILEPATH: &str = "__meta_filepath";
/// `__meta_url`, the URL an http_sd group came from.
pub const META_URL: &str = "__meta_url";

/// An update from provider number `.0`: its complete list of groups.
pub(crate) type Update = (usize, Vec<TargetGroup>);

/// The groups of `static_configs`.
pub fn static_groups(cfgs: &[StaticConfig]) -> Vec<TargetGroup> {
    cfgs.iter()
        .enumerate()
        .map(|(i, c)| TargetGroup {
            targets: c.targets.clone(),
            labels: c.labels.clone(),
            source: format!("static/{i}"),
        })
        .collect()
}

/// Parses a file_sd file (JSON when the name ends in `.json`, else YAML) and checks it.
pub fn parse_group_file(path: &Path, data: &[u8]) -> Result<Vec<TargetGroup>, String> {
    let is_json = path.extension().is_some_and(|e| e == "json");
    let mut groups: Vec<TargetGroup> = if is_json {
        serde_json::from_slice(data).map_err(|e| format!("{}: {e}", path.display()))?
    } else {
        let text = std::str::from_utf8(data).map_err(|e| format!("{}: {e}", path.display()))?;
        if text.trim().is_empty() {
            Vec::new()
        } else {
            serde_saphyr::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?
        }
    };
    for (i, g) in groups.iter_mut().enumerate() {
        check_group(g).map_err(|e| format!("{}: group {i}: {e}", path.display()))?;
        g.source = format!("{}:{i}", path.display());
        g.labels.insert(META_FILEPATH.into(), path.display().to_string());
    }
    Ok(groups)
}

fn check_group(g: &TargetGroup) -> Result<(), String> {
    for name in g.labels.keys() {
        if !is_valid_label_name(name) {
            return Err(format!("{name:?} is not a valid label name"));
        }
    }
    for t in &g.targets {
        if t.is_empty() {
            return Err("empty target address".into());
        }
    }
    Ok(())
}

/// Matches a file name against a pattern with `*` (any run) and `?` (one character).
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The files a pattern list names now (sorted); wildcards only in the last component.
fn expand(patterns: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for pat in patterns {
        let path = Path::new(pat);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.contains(['*', '?']) {
            out.push(path.to_path_buf());
            continue;
        }
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let Ok(rd) = std::fs::read_dir(dir) else { continue };
        for e in rd.flatten() {
            if let Some(n) = e.file_name().to_str() {
                if glob_match(name, n) {
                    out.push(dir.join(n));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

type Signature = Vec<(PathBuf, Option<(SystemTime, u64)>)>;

fn signature(files: &[PathBuf]) -> Signature {
    files
        .iter()
        .map(|f| {
            let meta = std::fs::metadata(f)
                .ok()
                .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
            (f.clone(), meta)
        })
        .collect()
}

/// Runs one file_sd entry until the receiver is gone.
pub(crate) async fn run_file_sd(idx: usize, cfg: FileSdConfig, tx: mpsc::Sender<Update>) {
    let mut last_sig: Option<Signature> = None;
    let mut by_file: BTreeMap<PathBuf, Vec<TargetGroup>> = BTreeMap::new();
    let every = cfg.refresh_interval.get().max(Duration::from_millis(10));
    loop {
        let files = expand(&cfg.files);
        let sig = signature(&files);
        if last_sig.as_ref() != Some(&sig) {
            let old: BTreeMap<PathBuf, Option<(SystemTime, u64)>> =
                last_sig.take().unwrap_or_default().into_iter().collect();
            let mut next = BTreeMap::new();
            for (path, meta) in &sig {
                if meta.is_none() {
                    continue; // listed explicitly but missing: no groups
                }
                if old.get(path) == Some(meta) {
                    if let Some(g) = by_file.remove(path) {
                        next.insert(path.clone(), g);
                        continue;
                    }
                }
                let groups = tokio::fs::read(path)
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))
                    .and_then(|d| parse_group_file(path, &d));
                match groups {
                    Ok(g) => {
                        next.insert(path.clone(), g);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "file_sd: keeping the previous targets of a file that cannot be read");
                        if let Some(g) = by_file.remove(path) {
                            next.insert(path.clone(), g);
                        }
                    }
                }
            }
            by_file = next;
            last_sig = Some(sig);
            let all: Vec<TargetGroup> = by_file.values().flatten().cloned().collect();
            if tx.send((idx, all)).await.is_err() {
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = tx.closed() => return,
        }
    }
}

/// Runs one http_sd entry until the receiver is gone.
pub(crate) async fn run_http_sd(idx: usize, cfg: HttpSdConfig, tx: mpsc::Sender<Update>) {
    let http = cfg.http();
    let client = match build_client(&http, true) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(url = %cfg.url, error = %e, "http_sd: cannot build the HTTP client");
            let _ = tx.send((idx, Vec::new())).await;
            return;
        }
    };
    let every = cfg.refresh_interval.get().max(Duration::from_millis(10));
    let mut last: Option<Vec<TargetGroup>> = None;
    loop {
        match fetch_http_sd(&client, &cfg).await {
            Ok(groups) => {
                if last.as_ref() != Some(&groups) {
                    last = Some(groups.clone());
                    if tx.send((idx, groups)).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(url = %cfg.url, error = %e, "http_sd: refresh failed, keeping the previous targets");
                if last.is_none() {
                    last = Some(Vec::new());
                    if tx.send((idx, Vec::new())).await.is_err() {
                        return;
                    }
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = tx.closed() => return,
        }
    }
}

/// One http_sd request: 200, JSON list of groups.
pub async fn fetch_http_sd(client: &reqwest::Client, cfg: &HttpSdConfig) -> Result<Vec<TargetGroup>, String> {
    let req = client
        .get(&cfg.url)
        .header(
            "X-Prometheus-Refresh-Interval-Seconds",
            cfg.refresh_interval.get().as_secs().to_string(),
        )
        .timeout(cfg.refresh_interval.get().max(Duration::from_secs(1)));
    let req = with_auth(req, &cfg.http())?;
    let resp = req.send().await.map_err(|e| error_chain(&e))?;
    if !resp.status().is_success() {
        return Err(format!("server returned HTTP status {}", resp.status()));
    }
    let ct = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/json")
    {
        return Err(format!("unsupported content type {ct:?} (want application/json)"));
    }
    let body = resp.bytes().await.map_err(|e| error_chain(&e))?;
    let mut groups: Vec<TargetGroup> =
        serde_json::from_slice(&body).map_err(|e| format!("invalid JSON: {e}"))?;
    for (i, g) in groups.iter_mut().enumerate() {
        check_group(g).map_err(|e| format!("group {i}: {e}"))?;
        g.source = format!("{}:{i}", cfg.url);
        g.labels.insert(META_URL.into(), cfg.url.clone());
    }
    Ok(groups)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*.json", "a.json"));
        assert!(glob_match("t?.yml", "t1.yml"));
        assert!(!glob_match("*.json", "a.yml"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
    }

    #[test]
    fn group_files() {
        let json = br#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": ["c:3"]}]"#;
        let g = parse_group_file(Path::new("/sd/x.json"), json).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].targets, vec!["a:1", "b:2"]);
        assert_eq!(g[0].labels["env"], "prod");
        assert_eq!(g[1].labels[META_FILEPATH], "/sd/x.json");
        let yaml = b"- targets: ['a:1']\n  labels:\n    env: dev\n";
        let g = parse_group_file(Path::new("/sd/x.yml"), yaml).unwrap();
        assert_eq!(g[0].labels["env"], "dev");
        assert!(parse_group_file(Path::new("x.yml"), b"").unwrap().is_empty());
        let bad = br#"[{"targets": ["a:1"], "labelz": {}}]"#;
        assert!(parse_group_file(Path::new("/sd/bad.json"), bad)
            .unwrap_err()
            .contains("labelz"));
        let bad = br#"[{"targets": ["a:1"], "labels": {"1x": "y"}}]"#;
        assert!(parse_group_file(Path::new("/sd/bad.json"), bad)
            .unwrap_err()
            .contains("not a valid label name"));
    }
}
