//! Logging set-up: `--log.level` (debug, info, warn, error), logfmt-like lines on stderr.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `RUST_LOG`, when set, overrides the level for fine tuning.
pub fn init(level: &str) -> Result<(), String> {
    let level = match level {
        "debug" | "info" | "warn" | "error" => level,
        other => {
            return Err(format!(
                "invalid --log.level {other:?}: use debug, info, warn or error"
            ))
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init()
        .map_err(|e| format!("cannot initialise logging: {e}"))
}
