//! Prometheus durations (`1y2w3d4h5m6s7ms`, `1h30m`, `0`): parsing and printing as
//! Prometheus' `model.ParseDuration` and `model.Duration.String` do.
//!
//! Callers that accept more (float seconds in the HTTP API) or less (a range that fits a
//! narrower integer) do so on top of [`parse_duration`].

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::time::Duration;

/// Units in the order Prometheus requires them, with their length in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

/// Why a duration string is not one. `Display` words it for configuration errors; the HTTP
/// API words it exactly as Prometheus' `model.ParseDuration` from the variants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DurationError {
    /// The string is empty.
    Empty,
    /// Not `<int><unit>...`, or units out of order or repeated; holds the input.
    Invalid(String),
    /// A unit other than `y w d h m s ms`.
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole input.
        input: String,
    },
    /// The total does not fit in 64-bit milliseconds.
    OutOfRange,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Empty => f.write_str("empty duration string"),
            DurationError::Invalid(s) => write!(f, "not a valid duration string: {s:?}"),
            DurationError::UnknownUnit { unit, input } => {
                write!(
                    f,
                    "not a valid duration string: {input:?} (unknown unit {unit:?})"
                )
            }
            DurationError::OutOfRange => f.write_str("duration out of range"),
        }
    }
}

impl std::error::Error for DurationError {}

/// Parses a Prometheus duration: `0`, or one or more `<int><unit>` with units
/// `y w d h m s ms` (`y` = 365 d, `w` = 7 d) in decreasing order, each at most once.
/// No sign, no fractions, no spaces.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    match s {
        "0" => return Ok(Duration::ZERO),
        "" => return Err(DurationError::Empty),
        _ => {}
    }
    let invalid = || DurationError::Invalid(s.to_string());
    let mut rest = s;
    let mut total: u64 = 0;
    let mut next_unit = 0; // index into UNITS: later units must come after this one
    while !rest.is_empty() {
        let n_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n_digits == 0 {
            return Err(invalid());
        }
        let v: u64 = rest[..n_digits].parse().map_err(|_| invalid())?;
        rest = &rest[n_digits..];
        let n_unit = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        if n_unit == 0 {
            return Err(invalid());
        }
        let unit = &rest[..n_unit];
        rest = &rest[n_unit..];
        let Some(idx) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(DurationError::UnknownUnit {
                unit: unit.to_string(),
                input: s.to_string(),
            });
        };
        if idx < next_unit {
            return Err(invalid());
        }
        next_unit = idx + 1;
        total = v
            .checked_mul(UNITS[idx].1)
            .and_then(|x| total.checked_add(x))
            .ok_or(DurationError::OutOfRange)?;
    }
    Ok(Duration::from_millis(total))
}

/// Prints a duration as Prometheus does (`1h30m`, `15s`, `0s`, `90d`): milliseconds and up,
/// years and weeks only when exact.
pub fn format_duration(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, len) in UNITS {
        // Years and weeks only when exact: "90d" reads better than "12w6d".
        if (unit == "y" || unit == "w") && !ms.is_multiple_of(len) {
            continue;
        }
        if ms >= len {
            out.push_str(&(ms / len).to_string());
            out.push_str(unit);
            ms %= len;
        }
    }
    out
}

/// A duration written in Prometheus syntax in configuration (see [`parse_duration`]);
/// printed with [`format_duration`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PromDuration(pub Duration);

impl PromDuration {
    /// `n` seconds.
    pub const fn secs(n: u64) -> Self {
        PromDuration(Duration::from_secs(n))
    }

    /// Parses Prometheus' syntax.
    pub fn parse(s: &str) -> Result<Self, String> {
        parse_duration(s).map(PromDuration).map_err(|e| e.to_string())
    }

    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl fmt::Display for PromDuration {
    /// Formats as Prometheus does (`1m30s`, `2h`, `0s`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PromDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, want_ms: Option<u64>) {
        let got = parse_duration(input).ok().map(|d| d.as_millis() as u64);
        assert_eq!(got, want_ms, "{input:?}");
    }

    #[test]
    fn parses() {
        check("0", Some(0));
        check("0s", Some(0));
        check("15s", Some(15_000));
        check("1m30s", Some(90_000));
        check("1h30m", Some(5_400_000));
        check("1s500ms", Some(1500));
        check("250ms", Some(250));
        check("5m", Some(300_000));
        check("2h", Some(7_200_000));
        check("1d", Some(86_400_000));
        check("2d", Some(2 * 86_400_000));
        check("1w", Some(604_800_000));
        check("2w", Some(14 * 86_400_000));
        check("1y", Some(31_536_000_000));
        check("500ms", Some(500));
        check("1h1m1s1ms", Some(3_661_001));
        check("1d2h3m4s5ms", Some((86_400 + 7_384) * 1000 + 5));
        check("", None);
        check("1", None);
        check("5", None);
        check("s", None);
        check("m", None);
        check("1s1m", None);
        check("1m1h", None);
        check("5m1h", None);
        check("1m1m", None);
        check("1.5s", None);
        check("-1s", None);
        check("1x", None);
        check("1m 30s", None);
        check("99999999999999999999s", None);
    }

    #[test]
    fn errors() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(
            parse_duration("").unwrap_err().to_string(),
            "empty duration string"
        );
        assert_eq!(
            parse_duration("5m1h").unwrap_err().to_string(),
            "not a valid duration string: \"5m1h\""
        );
        assert_eq!(
            parse_duration("5x").unwrap_err().to_string(),
            "not a valid duration string: \"5x\" (unknown unit \"x\")"
        );
        assert_eq!(parse_duration("99999999999999y"), Err(DurationError::OutOfRange));
    }

    #[test]
    fn prints() {
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(60)), "1m");
        assert_eq!(format_duration(Duration::from_secs(5)), "5s");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_secs(14 * 86400)), "2w");
        assert_eq!(format_duration(Duration::from_secs(90 * 86400)), "90d");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(PromDuration::parse("1m30s").unwrap().to_string(), "1m30s");
        assert_eq!(PromDuration::parse("0").unwrap().to_string(), "0s");
    }
}
