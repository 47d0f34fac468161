//! The `sextant` binary: parse flags, load the configuration, run.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let flags = sextant::cli::Flags::parse();
    if let Err(e) = sextant::logging::init(&flags.log_level) {
        eprintln!("sextant: {e}");
        return ExitCode::from(2);
    }
    let result = sextant::run_from_flags(flags);
    sextant::telemetry::shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sextant: {e}");
            ExitCode::FAILURE
        }
    }
}
