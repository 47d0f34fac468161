//! Preset rule files embedded in the binary.
//!
//! `beacon.yml` alerts on the metrics of the Ethereum beacon-node metrics spec. Assumptions
//! (edit a copy to change them):
//! - Mainnet timing: genesis at 1606824023 (2020-12-01 12:00:23 UTC), 12 s slots, 32-slot
//!   epochs. The wall-clock slot is `floor((time() - 1606824023) / 12)`.
//! - "Behind the wall clock" means the head is more than 8 slots (~1.5 min) behind it.
//! - Finality is stalled when the finalized epoch is more than 4 epochs behind the wall-clock
//!   epoch (healthy chains sit at 2–3).
//! - Fewer than 10 peers is too few; more than 3 reorgs in 15 minutes is a spike; a drop of
//!   the active validator count by more than 1 % within an hour is worth a look.
//! - `beacon_sync_state` follows the spec's proposed "0 not syncing, 1 synced, 2 syncing";
//!   any value other than 1 for 5 minutes means "not synced".

/// The beacon-node preset rule file.
pub const BEACON_RULES: &str = include_str!("presets/beacon.yml");

/// The name the preset is reported under.
pub const BEACON_RULES_NAME: &str = "<preset>/beacon.yml";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
