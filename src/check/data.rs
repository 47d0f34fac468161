//! `sextant check data <dir>`: the read-only integrity check of a data directory (every
//! block's checksums, every WAL frame; see [`storage::check`]). Prints what it read and every
//! problem with its file; exits 0 when intact, 1 when something is damaged, 2 on bad usage.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs the check with the arguments after `check`.
pub(super) fn run(args: &[OsString]) -> ExitCode {
    let path = match args {
        [p] if p != "-h" && p != "--help" => PathBuf::from(p),
        _ => {
            eprintln!("usage: sextant check data <data directory>\n\nReads every block (meta.json, index, every chunk column) and every WAL segment and checkpoint of the directory, changes nothing, and reports each damaged file by name.");
            return ExitCode::from(2);
        }
    };
    match storage::check::check_dir(&path) {
        Ok(r) => {
            println!(
                "{}: {} intact blocks ({} series, {} samples); {} WAL files ({} intact records)",
                path.display(),
                r.blocks_ok,
                r.series,
                r.samples,
                r.wal_files,
                r.wal_records
            );
            for p in &r.problems {
                println!("DAMAGED: {p}");
            }
            if r.is_ok() {
                println!("OK");
                ExitCode::SUCCESS
            } else {
                println!("{} problem(s) found", r.problems.len());
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("sextant check: {e}");
            ExitCode::from(2)
        }
    }
}
