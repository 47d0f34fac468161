//! Byte sizes as Prometheus' configuration and flags write them (`512MB`, `10GiB`, `1024`).

use serde::{Deserialize, Deserializer};

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
