//! `sextant check`: offline checks an operator runs before a start or a reload.
//!
//! | command | what it checks | exit codes |
//! |---|---|---|
//! | `sextant check config FILE...` | each `prometheus.yml` as `promtool check config` does, with the rule files it names | 0 valid, 1 invalid, 2 bad usage |
//! | `sextant check rules FILE...` | each rule file as `promtool check rules` does | 0 valid, 1 invalid, 2 bad usage |
//! | `sextant check data DIR` (or `sextant check DIR`) | a data directory's blocks and WAL, read-only ([`storage::check`]) | 0 intact, 1 damaged, 2 bad usage |
//!
//! The config and rules checks print what promtool prints: a `Checking FILE` line, then a
//! `SUCCESS` or `FAILED` line per file, so scripts written for promtool work unchanged.

mod config;
mod data;
mod rules;

use std::ffi::OsString;
use std::process::ExitCode;

const USAGE: &str =
    "usage: sextant check config FILE...   check prometheus.yml files (as promtool check config)
       sextant check rules FILE...    check rule files (as promtool check rules)
       sextant check data DIR         check a data directory's blocks and WAL, read-only
       sextant check DIR              the same as check data DIR";

/// Runs `sextant check` with the arguments after `check`.
pub fn run(args: &[OsString]) -> ExitCode {
    match args.first().and_then(|a| a.to_str()) {
        Some("config") => with_files(&args[1..], config::run),
        Some("rules") => with_files(&args[1..], rules::run),
        Some("data") => data::run(&args[1..]),
        Some("-h" | "--help") | None => usage(),
        Some(_) => data::run(args),
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

/// Runs `check` on each named file, after making sure every file exists (as promtool does).
fn with_files(files: &[OsString], check: fn(&[std::path::PathBuf]) -> ExitCode) -> ExitCode {
    if files.is_empty() || files.iter().any(|f| f == "-h" || f == "--help") {
        return usage();
    }
    let paths: Vec<std::path::PathBuf> = files.iter().map(std::path::PathBuf::from).collect();
    for p in &paths {
        if !p.exists() {
            eprintln!(
                "sextant check: error: path '{}' does not exist, try --help",
                p.display()
            );
            return ExitCode::FAILURE;
        }
    }
    check(&paths)
}
