//! The configuration corpus in `tests/fixtures/configs/` (see its README) against Debian's
//! `promtool check config` and against Sextant:
//!
//! - `valid/`: promtool accepts it; `sextant check config` accepts it; Sextant starts on it,
//!   becomes ready and serves `/api/v1/status/config`.
//! - `invalid/`: promtool rejects it; `sextant check config` and starting Sextant both fail
//!   with a message containing the file's `# expect: TEXT` (the field or value at fault).
//! - `newer/`: keys newer than promtool 2.42 (`# newer: KEY (Prometheus X.Y)`): promtool
//!   rejects it naming KEY; Sextant accepts it and starts.
//! - `unsupported/`: a service discovery Sextant does not implement
//!   (`# unsupported: MECHANISM in job "NAME"`): Sextant refuses with one line naming the
//!   job, the mechanism and the supported alternatives.
//!
//! Every file is checked, every mismatch is collected, and the test fails once with the list.
//! The files only name 127.0.0.1/localhost, so running servers on them sends nothing off the
//! machine. Sextant runs with a working directory that is not the file's, so relative paths
//! must resolve against the configuration file as in Prometheus.

use crate::support::*;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROMTOOL: &str = "/usr/bin/promtool";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs")
}

/// The corpus files `NN-*.yml` of one folder, sorted (helpers such as rule files, file_sd
/// target lists and secrets live beside them under other names).
fn corpus_files(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join(folder))
        .unwrap_or_else(|e| panic!("read {folder}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let b = name.as_bytes();
            name.ends_with(".yml")
                && b.len() > 3
                && b[0].is_ascii_digit()
                && b[1].is_ascii_digit()
                && b[2] == b'-'
        })
        .collect();
    files.sort();
    files
}

/// The text after `# KEY:` on the file's first line.
fn header(file: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let first = text.lines().next()?;
    first
        .strip_prefix(&format!("# {key}:"))
        .map(|s| s.trim().to_string())
}

fn short(file: &Path) -> String {
    file.strip_prefix(corpus_dir())
        .unwrap_or(file)
        .display()
        .to_string()
}

/// What a finished (or killed) process did.
struct Run {
    /// `None` when it was killed at the deadline.
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        let code = match self.code {
            Some(c) => format!("exit {c}"),
            None => "still running at the deadline (killed)".to_string(),
        };
        format!(
            "{code}; stdout: {:?}; stderr: {:?}",
            tail(&self.stdout),
            tail(&self.stderr)
        )
    }
}

/// The last few lines of a process' output, enough to show why it failed.
fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(6)..].join("\n")
}

/// Runs `cmd` to completion, killing it after `timeout`.
fn run(mut cmd: Command, timeout: Duration) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let code = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st.code().unwrap_or(-1)),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    Run {
        code,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

/// `promtool check config FILE` from the file's directory, or `None` without promtool.
fn promtool(file: &Path) -> Option<Run> {
    if !Path::new(PROMTOOL).exists() {
        return None;
    }
    let mut cmd = Command::new(PROMTOOL);
    cmd.arg("check")
        .arg("config")
        .arg(file.file_name().unwrap())
        .current_dir(file.parent().unwrap());
    Some(run(cmd, Duration::from_secs(30)))
}

/// `sextant check config FILE`, from a working directory other than the file's.
fn sextant_check(file: &Path, cwd: &Path) -> Run {
    let mut cmd = Command::new(bin());
    cmd.arg("check").arg("config").arg(file).current_dir(cwd);
    run(cmd, Duration::from_secs(30))
}

/// The message of a panic caught by `catch_unwind`.
fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "panic".to_string()
    }
}

/// Starts Sextant on `file`, checks it is ready and serves its configuration, stops it.
fn start_and_stop(file: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = file.to_path_buf();
    let started = Instant::now();
    let result = std::panic::catch_unwind(move || {
        let mut server = TestServer::builder(&dir.path().join("data"))
            .arg(format!("--config.file={}", file.display()))
            .start();
        let outcome = match get_json(&server.url("/api/v1/status/config")) {
            (200, v) if v["status"] == "success" && v["data"]["yaml"].is_string() => Ok(()),
            (s, v) => Err(format!("/api/v1/status/config answered {s}: {v}")),
        };
        let code = server.terminate();
        let log = server.log.lock().unwrap().clone();
        outcome?;
        if code != Some(0) {
            return Err(format!(
                "exit {code:?} on SIGTERM; log: {:?}",
                tail(&log.join("\n"))
            ));
        }
        Ok(())
    });
    let elapsed = started.elapsed();
    match result {
        Ok(Ok(())) if elapsed > Duration::from_secs(10) => Err(format!(
            "started and stopped, but took {:.1}s (should be a few seconds at most)",
            elapsed.as_secs_f64()
        )),
        Ok(r) => r,
        Err(p) => Err(format!("did not start: {}", panic_text(p))),
    }
}

/// Starts Sextant on a file it must refuse; returns what the process did.
fn start_expecting_failure(file: &Path, cwd: &Path) -> Run {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(bin());
    cmd.arg("--web.listen-address=127.0.0.1:0")
        .arg("--otlp.grpc-listen-address=127.0.0.1:0")
        .arg(format!(
            "--storage.tsdb.path={}",
            data.path().join("data").display()
        ))
        .arg(format!("--config.file={}", file.display()))
        .env("RUST_LOG", "info")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .current_dir(cwd);
    run(cmd, Duration::from_secs(15))
}

#[derive(Default)]
struct Mismatches(Vec<String>);

impl Mismatches {
    fn add(&mut self, file: &Path, expected: &str, happened: impl AsRef<str>) {
        self.0.push(format!(
            "{}: expected {expected}; {}",
            short(file),
            happened.as_ref()
        ));
    }
}

fn check_valid(file: &Path, cwd: &Path, m: &mut Mismatches) {
    if let Some(p) = promtool(file) {
        if p.code != Some(0) {
            m.add(file, "promtool to accept it (corpus error)", p.describe());
        }
    }
    let c = sextant_check(file, cwd);
    if c.code != Some(0) || !c.stdout.contains(" SUCCESS: ") {
        m.add(
            file,
            "`sextant check config` exit 0 with ` SUCCESS: `",
            c.describe(),
        );
    }
    if let Err(e) = start_and_stop(file) {
        m.add(file, "Sextant to start on it", e);
    }
}

fn check_invalid(file: &Path, cwd: &Path, m: &mut Mismatches) {
    let Some(expect) = header(file, "expect") else {
        m.add(file, "a first line `# expect: TEXT` (corpus error)", "none found");
        return;
    };
    if let Some(p) = promtool(file) {
        if p.code != Some(1) {
            m.add(file, "promtool to reject it (corpus error)", p.describe());
        }
    }
    let c = sextant_check(file, cwd);
    if c.code != Some(1) || !c.stderr.contains("FAILED: ") || !c.stderr.contains(&expect) {
        m.add(
            file,
            &format!("`sextant check config` exit 1, `FAILED: ` on stderr naming {expect:?}"),
            c.describe(),
        );
    }
    let s = start_expecting_failure(file, cwd);
    if s.code.is_none_or(|c| c == 0) || !s.stderr.contains(&expect) {
        m.add(
            file,
            &format!("starting Sextant to fail naming {expect:?}"),
            s.describe(),
        );
    }
}

fn check_newer(file: &Path, cwd: &Path, m: &mut Mismatches) {
    let Some(why) = header(file, "newer") else {
        m.add(
            file,
            "a first line `# newer: KEY (Prometheus X.Y)` (corpus error)",
            "none found",
        );
        return;
    };
    let key = why.split_whitespace().next().unwrap_or_default().to_string();
    if let Some(p) = promtool(file) {
        let out = format!("{}{}", p.stdout, p.stderr);
        if p.code != Some(1) || !out.contains(&format!("field {key} not found")) {
            m.add(
                file,
                &format!("promtool 2.42 to reject it for `{key}` (corpus error)"),
                p.describe(),
            );
        }
    }
    let c = sextant_check(file, cwd);
    if c.code != Some(0) || !c.stdout.contains(" SUCCESS: ") {
        m.add(
            file,
            "`sextant check config` exit 0 with ` SUCCESS: `",
            c.describe(),
        );
    }
    if let Err(e) = start_and_stop(file) {
        m.add(file, "Sextant to start on it", e);
    }
}

fn check_unsupported(file: &Path, cwd: &Path, m: &mut Mismatches) {
    // `# unsupported: MECHANISM in job "NAME"`
    let parsed = header(file, "unsupported").and_then(|h| {
        let (mech, job) = h.split_once(" in job ")?;
        Some((mech.trim().to_string(), job.trim().to_string()))
    });
    let Some((mech, job)) = parsed else {
        m.add(
            file,
            "a first line `# unsupported: MECHANISM in job \"NAME\"` (corpus error)",
            "none found",
        );
        return;
    };
    let want = format!("job {job}: {mech}");
    // One line naming the job and the mechanism, and pointing to what is supported.
    let one_line = |stderr: &str| {
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(&want)).collect();
        lines.len() == 1 && lines[0].contains("file_sd_configs") && lines[0].contains("http_sd_configs")
    };
    let c = sextant_check(file, cwd);
    if c.code != Some(1) || !one_line(&c.stderr) {
        m.add(
            file,
            &format!("`sextant check config` exit 1 with one line `{want} ... file_sd_configs ... http_sd_configs`"),
            c.describe(),
        );
    }
    let s = start_expecting_failure(file, cwd);
    if s.code != Some(1) || !one_line(&s.stderr) {
        m.add(
            file,
            &format!(
                "starting Sextant to exit 1 with one line `{want} ... file_sd_configs ... http_sd_configs`"
            ),
            s.describe(),
        );
    }
}

#[test]
fn config_corpus_matches_promtool() {
    // Sextant runs from here, so a path resolved against the working directory fails.
    let elsewhere = tempfile::tempdir().unwrap();
    let cwd = elsewhere.path();
    let mut m = Mismatches::default();
    let mut counts = Vec::new();
    type Check = fn(&Path, &Path, &mut Mismatches);
    let folders: [(&str, Check); 4] = [
        ("valid", check_valid),
        ("invalid", check_invalid),
        ("newer", check_newer),
        ("unsupported", check_unsupported),
    ];
    for (folder, check) in folders {
        let files = corpus_files(folder);
        assert!(!files.is_empty(), "no corpus files in {folder}/");
        counts.push(format!("{folder}: {}", files.len()));
        for file in &files {
            check(file, cwd, &mut m);
        }
    }
    assert!(
        m.0.is_empty(),
        "{} mismatch(es) in the config corpus ({}):\n{}",
        m.0.len(),
        counts.join(", "),
        m.0.join("\n")
    );
}
