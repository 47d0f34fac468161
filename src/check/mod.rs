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
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str =
    "usage: sextant check config FILE...   check prometheus.yml files (as promtool check config)
       sextant check rules FILE...    check rule files (as promtool check rules)
       sextant check data DIR         check a data directory's blocks and WAL, read-only
       sextant check DIR              the same as check data DIR";

/// Runs `sextant check` with the arguments after `check`.
pub fn run(args: &[OsString]) -> ExitCode {
    match args.first().and_then(|a| a.to_str()) {
        Some("config") => check_each(&args[1..], config::check_file),
        Some("rules") => check_each(&args[1..], rules::check_file),
        Some("data") => data::run(&args[1..]),
        Some("-h" | "--help") | None => usage(),
        Some(_) => data::run(args),
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

/// Runs `check` on each named file, after making sure every file exists (as promtool does);
/// exit 0 when all are valid, 1 otherwise.
fn check_each(files: &[OsString], check: fn(&Path) -> bool) -> ExitCode {
    if files.is_empty() || files.iter().any(|f| f == "-h" || f == "--help") {
        return usage();
    }
    let paths: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    for p in &paths {
        if !p.exists() {
            eprintln!(
                "sextant check: error: path '{}' does not exist, try --help",
                p.display()
            );
            return ExitCode::FAILURE;
        }
    }
    let mut failed = false;
    for p in &paths {
        failed |= !check(p);
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
