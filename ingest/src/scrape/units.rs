//! Durations and byte sizes written as Prometheus' configuration writes them.

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::time::Duration;

/// A duration in Prometheus syntax: `1y2w3d4h5m6s7ms` (units in descending order, each at most
/// once; `y` = 365 d, `w` = 7 d), or `0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PromDuration(pub Duration);

impl PromDuration {
    /// `n` seconds.
    pub const fn secs(n: u64) -> Self {
        PromDuration(Duration::from_secs(n))
    }

    /// Parses Prometheus' syntax.
    pub fn parse(s: &str) -> Result<Self, String> {
        const UNITS: &[(&str, u64)] = &[
            ("y", 365 * 24 * 3600 * 1000),
            ("w", 7 * 24 * 3600 * 1000),
            ("d", 24 * 3600 * 1000),
            ("h", 3600 * 1000),
            ("m", 60 * 1000),
            ("s", 1000),
            ("ms", 1),
        ];
        if s == "0" {
            return Ok(PromDuration(Duration::ZERO));
        }
        if s.is_empty() {
            return Err("empty duration string".into());
        }
        let b = s.as_bytes();
        let mut pos = 0;
        let mut next_unit = 0; // index into UNITS: units must come in this order
        let mut total: u64 = 0;
        while pos < b.len() {
            let start = pos;
            while pos < b.len() && b[pos].is_ascii_digit() {
                pos += 1;
            }
            if start == pos {
                return Err(format!("not a valid duration string: {s:?}"));
            }
            let n: u64 = s[start..pos]
                .parse()
                .map_err(|_| format!("duration out of range: {s:?}"))?;
            let ustart = pos;
            while pos < b.len() && b[pos].is_ascii_alphabetic() {
                pos += 1;
            }
            let unit = &s[ustart..pos];
            let Some(idx) = UNITS.iter().position(|(u, _)| *u == unit) else {
                return Err(format!(
                    "not a valid duration string: {s:?} (unknown unit {unit:?})"
                ));
            };
            if idx < next_unit {
                return Err(format!(
                    "not a valid duration string: {s:?} (units out of order or repeated)"
                ));
            }
            next_unit = idx + 1;
            total = n
                .checked_mul(UNITS[idx].1)
                .and_then(|x| total.checked_add(x))
                .ok_or_else(|| format!("duration out of range: {s:?}"))?;
        }
        Ok(PromDuration(Duration::from_millis(total)))
    }

    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl fmt::Display for PromDuration {
    /// Formats as Prometheus does (`1m30s`, `2h`, `0s`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        for (u, m) in [
            ("y", 31_536_000_000u128),
            ("w", 604_800_000),
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
            ("ms", 1),
        ] {
            if ms >= m {
                write!(f, "{}{u}", ms / m)?;
                ms %= m;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PromDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A byte size: a plain number of bytes, or a number with a unit `B`, `KB`, `MB`, `GB`, `TB`,
/// `PB`, `EB` (powers of 1024, as Prometheus reads them; `KiB` etc. accepted too). 0 = no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Parses `10MB`, `512KiB`, `1024`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let mult: u64 = match unit.trim().to_ascii_uppercase().as_str() {
            "" | "B" => 1,
            "K" | "KB" | "KIB" => 1 << 10,
            "M" | "MB" | "MIB" => 1 << 20,
            "G" | "GB" | "GIB" => 1 << 30,
            "T" | "TB" | "TIB" => 1 << 40,
            "P" | "PB" | "PIB" => 1 << 50,
            "E" | "EB" | "EIB" => 1 << 60,
            _ => return Err(format!("invalid byte size {s:?} (unknown unit {unit:?})")),
        };
        let n: f64 = num.parse().map_err(|_| format!("invalid byte size {s:?}"))?;
        let v = n * mult as f64;
        if !(0.0..1.8e19).contains(&v) {
            return Err(format!("byte size out of range: {s:?}"));
        }
        Ok(ByteSize(v as u64))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => ByteSize::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, want_ms: Option<u64>) {
        let got = PromDuration::parse(input).ok().map(|d| d.0.as_millis() as u64);
        assert_eq!(got, want_ms, "{input:?}");
    }

    #[test]
    fn durations() {
        check("0", Some(0));
        check("0s", Some(0));
        check("15s", Some(15_000));
        check("1m30s", Some(90_000));
        check("2h", Some(7_200_000));
        check("1d", Some(86_400_000));
        check("1w", Some(604_800_000));
        check("1y", Some(31_536_000_000));
        check("500ms", Some(500));
        check("1h1m1s1ms", Some(3_661_001));
        check("", None);
        check("1", None);
        check("s", None);
        check("1s1m", None);
        check("1m1m", None);
        check("1.5s", None);
        check("-1s", None);
        check("1x", None);
        assert_eq!(PromDuration::parse("1m30s").unwrap().to_string(), "1m30s");
        assert_eq!(PromDuration::parse("0").unwrap().to_string(), "0s");
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(ByteSize::parse("10MB").unwrap().0, 10 << 20);
        assert_eq!(ByteSize::parse("512KiB").unwrap().0, 512 << 10);
        assert_eq!(ByteSize::parse("1024").unwrap().0, 1024);
        assert_eq!(ByteSize::parse("1.5KB").unwrap().0, 1536);
        assert!(ByteSize::parse("10XB").is_err());
        assert!(ByteSize::parse("abc").is_err());
    }
}
