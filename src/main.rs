//! The `sextant` binary: parse flags, load the configuration, run.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    sextant::allocator::reexec_with_huge_pages();
    sextant::allocator::tune();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "check") {
        return sextant::check::run(&args[2..]);
    }
    let flags = sextant::cli::Flags::parse();
    sextant::allocator::start_trimmer();
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
