//! Template functions: Prometheus' `humanize*` family, `printf` and string helpers.

use super::gofmt::{format_e, format_f, format_g};
use super::Val;

/// `humanize`: SI prefixes, 4 significant digits.
pub fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format_g(v, Some(4));
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", format_g(v, Some(4)))
}

/// `humanize1024`: binary prefixes (Ki, Mi, ...), 4 significant digits.
pub(super) fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return format_g(v, Some(4));
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", format_g(v, Some(4)))
}

/// `humanizePercentage`: a ratio as a percentage, 4 significant digits.
pub fn humanize_percentage(v: f64) -> String {
    format!("{}%", format_g(v * 100.0, Some(4)))
}

/// `humanizeDuration`: seconds as `1d 2h 3m 4s`, or with SI prefixes below a second.
pub fn humanize_duration(mut v: f64) -> String {
    if !v.is_finite() {
        return format_g(v, Some(4));
    }
    if v == 0.0 {
        return format!("{}s", format_g(v, Some(4)));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        let d = v as i64;
        let (days, hours, minutes, seconds) = (d / 86400, (d / 3600) % 24, (d / 60) % 60, d % 60);
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", format_g(v, Some(4)))
        };
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", format_g(v, Some(4)))
}

/// `humanizeTimestamp`: Unix seconds as Go prints a UTC `time.Time`
/// (`2023-11-14 22:13:20.5 +0000 UTC`).
pub(super) fn humanize_timestamp(v: f64) -> String {
    if !v.is_finite() {
        return format_g(v, Some(4));
    }
    let ms = (v * 1000.0).round() as i64;
    let s = storage::time::format_rfc3339_ms(ms);
    let s = s.trim_end_matches('Z').replacen('T', " ", 1);
    format!("{s} +0000 UTC")
}

/// Largest width or precision `printf` honours.
const MAX_WIDTH: usize = 4096;

/// Go's `printf` for the verbs `%v %s %d %f %g %e %q %x %%`, with flags `-+0 `, width and
/// precision.
pub(super) fn printf(fmt: &str, args: &[Val]) -> Result<String, String> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut cs = fmt.chars().peekable();
    while let Some(c) = cs.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut minus, mut plus, mut zero, mut space) = (false, false, false, false);
        while let Some(&f) = cs.peek() {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' => space = true,
                _ => break,
            }
            cs.next();
        }
        let mut width = String::new();
        while let Some(&d) = cs.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            cs.next();
        }
        let mut prec: Option<usize> = None;
        if cs.peek() == Some(&'.') {
            cs.next();
            let mut p = String::new();
            while let Some(&d) = cs.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                cs.next();
            }
            // Bounded: a template must not allocate without limit.
            prec = Some(p.parse::<usize>().unwrap_or(0).min(MAX_WIDTH));
        }
        let Some(verb) = cs.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let mut s = match (verb, arg) {
            ('v', a) | ('s', a @ Val::Str(_)) => a.to_string(),
            ('s', a) => format!("%!s({})", a.type_and_value()),
            ('q', a) => format!("{:?}", a.to_string()),
            ('d', Val::Int(i)) => i.to_string(),
            ('d', a) => format!("%!d({})", a.type_and_value()),
            ('x', Val::Int(i)) => format!("{i:x}"),
            ('x', Val::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
            ('f' | 'F', a) => match a.as_float() {
                Some(v) => format_f(v, prec.unwrap_or(6)),
                None => format!("%!f({})", a.type_and_value()),
            },
            ('g', a) => match a.as_float() {
                Some(v) => format_g(v, prec),
                None => format!("%!g({})", a.type_and_value()),
            },
            ('e', a) => match a.as_float() {
                Some(v) => format_e(v, prec.unwrap_or(6)),
                None => format!("%!e({})", a.type_and_value()),
            },
            (v, a) => format!("%!{v}({})", a.type_and_value()),
        };
        if matches!(verb, 's' | 'v' | 'q') {
            if let (Some(p), Val::Str(_)) = (prec, arg) {
                s = s.chars().take(p).collect();
            }
        }
        let numeric = matches!(arg, Val::Int(_) | Val::Num(_)) && !matches!(verb, 's' | 'q');
        if numeric && !s.starts_with('-') {
            if plus {
                s.insert(0, '+');
            } else if space {
                s.insert(0, ' ');
            }
        }
        let width: usize = width.parse::<usize>().unwrap_or(0).min(MAX_WIDTH);
        let len = s.chars().count();
        if len < width {
            let pad = width - len;
            if minus {
                s.push_str(&" ".repeat(pad));
            } else if zero && numeric {
                let sign = s.starts_with(['-', '+', ' ']);
                let at = usize::from(sign);
                s.insert_str(at, &"0".repeat(pad));
            } else {
                s.insert_str(0, &" ".repeat(pad));
            }
        }
        out.push_str(&s);
    }
    let extra: Vec<String> = args.map(|a| a.type_and_value()).collect();
    if !extra.is_empty() {
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    Ok(out)
}

/// Go's `strings.Title`-like capitalisation of each word's first letter.
pub(super) fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    out
}

/// Drops a trailing `:port` from a host (keeps IPv6 addresses intact).
pub(super) fn strip_port(s: &str) -> String {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((host, _)) = rest.split_once(']') {
            return host.to_string();
        }
    }
    match s.rsplit_once(':') {
        Some((h, _)) if !h.contains(':') => h.to_string(),
        _ => s.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn humanizers_match_prometheus() {
        assert_eq!(humanize(0.0), "0");
        assert_eq!(humanize(1234.0), "1.234k");
        assert_eq!(humanize(12345678.0), "12.35M");
        assert_eq!(humanize(0.001234), "1.234m");
        assert_eq!(humanize(-1500.0), "-1.5k");
        assert_eq!(humanize(5.0), "5");
        assert_eq!(humanize1024(2048.0), "2ki");
        assert_eq!(humanize1024(0.5), "0.5");
        assert_eq!(humanize_percentage(0.1234), "12.34%");
        assert_eq!(humanize_percentage(1.0), "100%");
        assert_eq!(humanize_duration(0.0), "0s");
        assert_eq!(humanize_duration(1.5), "1.5s");
        assert_eq!(humanize_duration(90.0), "1m 30s");
        assert_eq!(humanize_duration(3661.0), "1h 1m 1s");
        assert_eq!(humanize_duration(90061.0), "1d 1h 1m 1s");
        assert_eq!(humanize_duration(0.0015), "1.5ms");
        assert_eq!(humanize_duration(-90.0), "-1m 30s");
        assert_eq!(
            humanize_timestamp(1_700_000_000.0),
            "2023-11-14 22:13:20 +0000 UTC"
        );
        assert_eq!(
            humanize_timestamp(1_700_000_000.5),
            "2023-11-14 22:13:20.5 +0000 UTC"
        );
    }

    #[test]
    fn printf_verbs() {
        let f = |fmt: &str, a: Vec<Val>| printf(fmt, &a).unwrap();
        assert_eq!(f("%.2f", vec![Val::Num(1.23456)]), "1.23");
        assert_eq!(f("%d peers", vec![Val::Int(3)]), "3 peers");
        assert_eq!(f("%s=%v", vec![Val::Str("a".into()), Val::Num(2.0)]), "a=2");
        assert_eq!(
            f(
                "%5.1f|%-4d|%05d",
                vec![Val::Num(3.125), Val::Int(7), Val::Int(-42)]
            ),
            "  3.1|7   |-0042"
        );
        assert_eq!(f("100%%", vec![]), "100%");
        assert_eq!(f("%q", vec![Val::Str("x".into())]), "\"x\"");
        assert_eq!(f("%d", vec![Val::Num(1.5)]), "%!d(float64=1.5)");
        assert_eq!(f("%s", vec![]), "%!s(MISSING)");
        assert_eq!(f("%g", vec![Val::Num(1e6)]), "1e+06");
        assert_eq!(f("%99999999999999d", vec![Val::Int(1)]).len(), MAX_WIDTH);
    }

    #[test]
    fn string_helpers() {
        assert_eq!(title("node down now"), "Node Down Now");
        assert_eq!(strip_port("host:9100"), "host");
        assert_eq!(strip_port("[::1]:9100"), "::1");
        assert_eq!(strip_port("host"), "host");
    }
}
