//! Time in milliseconds since the Unix epoch, the proleptic Gregorian calendar, and RFC 3339
//! timestamps as Prometheus (Go's `time` package) writes and reads them, without a date library.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Go's zero time (`0001-01-01T00:00:00Z`), which Prometheus shows for "never".
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Milliseconds since the Unix epoch, now (0 if the clock is before the epoch).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Days since 1970-01-01 of a (year, month 1-12, day 1-31) date, proleptic Gregorian
/// (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let (m, d) = (i64::from(m), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01, proleptic Gregorian
/// (H. Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The number of days in month `m` (1-12) of year `y`.
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A UTC wall-clock reading of seconds since the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Year (proleptic Gregorian).
    pub year: i64,
    /// Month, 1-12.
    pub month: u32,
    /// Day of the month, 1-31.
    pub day: u32,
    /// Hour, 0-23.
    pub hour: u32,
    /// Minute, 0-59.
    pub minute: u32,
    /// Second, 0-59.
    pub second: u32,
}

impl Civil {
    /// The UTC date and time of `secs` seconds since the epoch.
    pub fn from_unix_secs(secs: i64) -> Self {
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400) as u32;
        Civil {
            year,
            month,
            day,
            hour: sod / 3600,
            minute: sod % 3600 / 60,
            second: sod % 60,
        }
    }
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = s.get(at..at + n)?;
    let mut v = 0i64;
    for &b in part {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(b - b'0');
    }
    Some(v)
}

/// Parses an RFC 3339 timestamp with optional fractional seconds
/// (`2026-11-21T23:47:08.096871799Z`, `2026-11-21T23:47:08+01:00`) into seconds and
/// nanoseconds since the Unix epoch. `None` if it is not one.
pub fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    let year = digits(b, 0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || b.get(10) != Some(&b'T') {
        return None;
    }
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let min = digits(b, 14, 2)?;
    let sec = digits(b, 17, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > i64::from(days_in_month(year, month as u32)) {
        return None;
    }
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits(b, start, n)? * 10i64.pow((9 - n) as u32);
    }
    let offset = match b.get(i) {
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = digits(b, i + 1, 2)?;
            let om = digits(b, i + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    let secs = days * 86400 + hour * 3600 + min * 60 + sec - offset;
    Some((secs, nanos as u32))
}

/// Writes seconds + nanoseconds since the epoch as Go's `time.RFC3339Nano` in UTC
/// (fraction without trailing zeros, omitted when zero), as Go's `time.Time` JSON does.
pub fn format_rfc3339(secs: i64, nanos: u32) -> String {
    let c = Civil::from_unix_secs(secs);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
    if nanos != 0 {
        let mut frac = nanos;
        let mut width = 9;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        let _ = write!(out, ".{frac:0width$}");
    }
    out.push('Z');
    out
}

/// Milliseconds since the epoch as Go's `time.RFC3339Nano` in UTC (`2024-01-02T03:04:05Z`,
/// `2024-01-02T03:04:05.5Z`).
pub fn format_rfc3339_ms(ms: i64) -> String {
    format_rfc3339(ms.div_euclid(1000), (ms.rem_euclid(1000) * 1_000_000) as u32)
}

/// Milliseconds since the epoch with exactly three fraction digits: `2024-01-02T03:04:05.678Z`.
pub fn format_rfc3339_millis(ms: i64) -> String {
    let c = Civil::from_unix_secs(ms.div_euclid(1000));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        ms.rem_euclid(1000)
    )
}

/// A `SystemTime` as Go's RFC3339Nano (UTC).
pub fn format_system_time(t: SystemTime) -> String {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => format_rfc3339(d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let total = -(e.duration().as_nanos() as i128);
            let secs = total.div_euclid(NANOS_PER_SEC) as i64;
            let nanos = total.rem_euclid(NANOS_PER_SEC) as u32;
            format_rfc3339(secs, nanos)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            parse_rfc3339("2026-11-21T23:47:08.096871799Z"),
            Some((1795304828, 96871799))
        );
        assert_eq!(
            parse_rfc3339("2026-11-22T00:47:08.5+01:00"),
            Some((1795304828, 500_000_000))
        );
        assert_eq!(parse_rfc3339("2024-02-29T12:00:00-02:30"), Some((1709217000, 0)));
        assert_eq!(
            format_rfc3339(1795304828, 96871799),
            "2026-11-21T23:47:08.096871799Z"
        );
        assert_eq!(format_rfc3339(1795304828, 500_000_000), "2026-11-21T23:47:08.5Z");
        assert_eq!(format_rfc3339(-62135596800, 0), GO_ZERO_TIME);
        for bad in [
            "",
            "abc",
            "2026-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-11-21 23:47:08Z",
            "2026-11-21T23:47:08",
            "2026-11-21T23:47:08.Z",
            "2026-11-21T24:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn millisecond_formats() {
        assert_eq!(format_rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_rfc3339_millis(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(format_rfc3339_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_rfc3339_millis(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_rfc3339_ms(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(format_rfc3339_ms(1_700_000_000_500), "2023-11-14T22:13:20.5Z");
        assert_eq!(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn calendar() {
        for days in [-800_000, -719_468, -1, 0, 1, 10_957, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{days}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        let c = Civil::from_unix_secs(1_795_304_828);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (2026, 11, 21, 23, 47, 8)
        );
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now_ms() > 1_577_836_800_000);
    }
}
