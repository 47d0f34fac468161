//! Time and duration text formats used by the API: RFC 3339 timestamps (parsed and written
//! as Go's `time.RFC3339Nano`) and Prometheus durations (`1h30m`, `5m`, `250ms`).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NANOS_PER_SEC: i64 = 1_000_000_000;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
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
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
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
    let secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - offset;
    Some((secs, nanos as u32))
}

/// Writes seconds + nanoseconds since the epoch as Go's `time.RFC3339Nano` in UTC
/// (fraction without trailing zeros, omitted when zero).
pub fn format_rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
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

/// A `SystemTime` as Go's RFC3339Nano (UTC).
pub fn format_system_time(t: SystemTime) -> String {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => format_rfc3339(d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let total = -(d.as_nanos() as i128);
            let secs = total.div_euclid(NANOS_PER_SEC as i128) as i64;
            let nanos = total.rem_euclid(NANOS_PER_SEC as i128) as u32;
            format_rfc3339(secs, nanos)
        }
    }
}

/// Go's zero time (`0001-01-01T00:00:00Z`), which Prometheus shows for "never".
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 24 * 3600 * NANOS_PER_SEC),
    ("w", 7 * 24 * 3600 * NANOS_PER_SEC),
    ("d", 24 * 3600 * NANOS_PER_SEC),
    ("h", 3600 * NANOS_PER_SEC),
    ("m", 60 * NANOS_PER_SEC),
    ("s", NANOS_PER_SEC),
    ("ms", 1_000_000),
];

/// Parses a Prometheus duration (`1y2w3d4h5m6s7ms`, units in that order, each at most once,
/// or `0`) into nanoseconds. The errors read as Prometheus' `model.ParseDuration`.
pub fn parse_prom_duration(s: &str) -> Result<i64, String> {
    match s {
        "0" => return Ok(0),
        "" => return Err("empty duration string".into()),
        _ => {}
    }
    let invalid = || format!("not a valid duration string: {}", super::json::go_quote(s));
    let mut rest = s;
    let mut total: i64 = 0;
    let mut last_pos: Option<usize> = None;
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
        let Some(pos) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(format!(
                "unknown unit {} in duration {}",
                super::json::go_quote(unit),
                super::json::go_quote(s)
            ));
        };
        if last_pos.is_some_and(|p| pos <= p) {
            return Err(invalid());
        }
        last_pos = Some(pos);
        let add = i64::try_from(v)
            .ok()
            .and_then(|v| v.checked_mul(UNITS[pos].1))
            .ok_or_else(|| "duration out of range".to_string())?;
        total = total
            .checked_add(add)
            .ok_or_else(|| "duration out of range".to_string())?;
    }
    Ok(total)
}

/// Formats a duration as Prometheus' `model.Duration` does (`5s`, `1m30s`, `2w`, `0s`).
pub fn format_prom_duration(d: Duration) -> String {
    let mut ms = d.as_millis() as i64;
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (i, (unit, mult)) in UNITS.iter().enumerate() {
        let mult = mult / 1_000_000;
        // Years and weeks only when exact: "90d" reads better than "12w6d".
        if i < 2 && ms % mult != 0 {
            continue;
        }
        let v = ms / mult;
        if v > 0 {
            let _ = write!(out, "{v}{unit}");
            ms -= v * mult;
        }
    }
    out
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
    fn prom_durations() {
        let s = NANOS_PER_SEC;
        assert_eq!(parse_prom_duration("5m"), Ok(300 * s));
        assert_eq!(parse_prom_duration("1h30m"), Ok(5400 * s));
        assert_eq!(
            parse_prom_duration("1d2h3m4s5ms"),
            Ok((86400 + 7384) * s + 5_000_000)
        );
        assert_eq!(parse_prom_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_prom_duration("2w"), Ok(14 * 86400 * s));
        assert_eq!(parse_prom_duration("0"), Ok(0));
        assert_eq!(parse_prom_duration(""), Err("empty duration string".into()));
        assert_eq!(
            parse_prom_duration("5m1h"),
            Err("not a valid duration string: \"5m1h\"".into())
        );
        assert_eq!(
            parse_prom_duration("5x"),
            Err("unknown unit \"x\" in duration \"5x\"".into())
        );
        assert!(parse_prom_duration("m").is_err());
        assert!(parse_prom_duration("99999999999999y").is_err());
    }

    #[test]
    fn duration_strings() {
        assert_eq!(format_prom_duration(Duration::from_secs(5)), "5s");
        assert_eq!(format_prom_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_prom_duration(Duration::from_secs(0)), "0s");
        assert_eq!(format_prom_duration(Duration::from_secs(14 * 86400)), "2w");
        assert_eq!(format_prom_duration(Duration::from_secs(90 * 86400)), "90d");
        assert_eq!(format_prom_duration(Duration::from_millis(1500)), "1s500ms");
    }
}
