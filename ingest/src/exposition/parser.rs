//! The pull parser for Prometheus text 0.0.4 and OpenMetrics 1.0.
//!
//! One line at a time: [`Parser::next_entry`] returns the next HELP/TYPE/UNIT line or sample,
//! borrowing names and label text from the body. Both formats share one grammar with these
//! differences:
//!
//! | | Prometheus text | OpenMetrics |
//! |---|---|---|
//! | timestamps | integer milliseconds | seconds, decimals allowed |
//! | other `#` lines | comments, ignored | an error |
//! | `# EOF` | a comment | required, last line |
//! | exemplars | an error | `# {labels} value [ts]` after a sample |
//! | HELP escapes | `\\`, `\n` | `\\`, `\n`, `\"` |

use super::entry::{Entry, Exemplar, RawLabels, SampleEntry};
use super::error::ParseError;
use super::lex::{
    is_label_name_char, is_label_name_start, is_metric_name_char, is_metric_name_start, parse_seconds_to_ms,
    parse_value, quoted_end, skip_blank, take_while, token_end, unescape, unescape_help_text,
};
use super::Format;
use std::borrow::Cow;
use storage::MetricType;

/// A pull parser over one exposition body. See the module docs for the grammar.
#[derive(Debug)]
pub struct Parser<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    format: Format,
    eof_seen: bool,
    family: Cow<'a, str>,
    family_type: MetricType,
    failed: bool,
}

impl<'a> Parser<'a> {
    /// A parser over `body` in `format`. Fails when the body is not UTF-8 (naming the line).
    pub fn new(body: &'a [u8], format: Format) -> Result<Self, ParseError> {
        let text = std::str::from_utf8(body).map_err(|e| {
            let at = e.valid_up_to();
            let line = body[..at].iter().filter(|&&c| c == b'\n').count() + 1;
            ParseError::new(line, "", format!("invalid UTF-8 at byte {at}"))
        })?;
        Ok(Parser {
            text,
            pos: 0,
            line: 0,
            format,
            eof_seen: false,
            family: Cow::Borrowed(""),
            family_type: MetricType::Unknown,
            failed: false,
        })
    }

    /// The format being parsed.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The number of the last line read (1-based; 0 before the first).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The next entry, `Ok(None)` at the end of the body. After an error the parser is done.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        if self.failed {
            return Ok(None);
        }
        let r = self.advance();
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    /// Like [`Parser::next_entry`], given the series text the caller expects next (the
    /// series of the same position in the previous body). When the next line is a sample of
    /// exactly that series, its name and labels are not validated again (they were, when the
    /// text was first parsed) and the second value is `true`. The result is the same entry
    /// `next_entry` would return.
    ///
    /// `expected` must be the `series` of a sample this parser type returned earlier; a text
    /// starting with `{` (a quoted name inside the braces) is never taken as a hint.
    pub fn next_entry_hinted(
        &mut self,
        expected: Option<&str>,
    ) -> Result<Option<(Entry<'a>, bool)>, ParseError> {
        if self.failed {
            return Ok(None);
        }
        let r = self.advance_hinted(expected.filter(|e| !e.is_empty() && !e.starts_with('{')));
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    fn advance(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        Ok(self.advance_hinted(None)?.map(|(e, _)| e))
    }

    fn advance_hinted(&mut self, expected: Option<&str>) -> Result<Option<(Entry<'a>, bool)>, ParseError> {
        let bytes = self.text.as_bytes();
        loop {
            if self.pos >= bytes.len() {
                if self.format == Format::OpenMetrics && !self.eof_seen {
                    return Err(ParseError::new(
                        self.line,
                        "",
                        "OpenMetrics body does not end with \"# EOF\"",
                    ));
                }
                return Ok(None);
            }
            let start = self.pos;
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            self.pos = end + 1;
            self.line += 1;
            let mut line = &self.text[start..end];
            if let Some(l) = line.strip_suffix('\r') {
                line = l;
            }
            let lb = line.as_bytes();
            let first = skip_blank(lb, 0);
            if self.eof_seen {
                if first == lb.len() {
                    continue;
                }
                return Err(self.err(line, "unexpected content after \"# EOF\""));
            }
            if first == lb.len() {
                continue;
            }
            if lb[first] == b'#' {
                match self.comment(line, first + 1)? {
                    Some(e) => return Ok(Some((e, false))),
                    None => continue,
                }
            }
            if let Some(known) = expected.and_then(|e| self.known_series(line, first, e)) {
                return self
                    .sample_known(line, first, known)
                    .map(|s| Some((Entry::Sample(s), true)));
            }
            return self.sample(line, first).map(|s| Some((Entry::Sample(s), false)));
        }
    }

    fn err(&self, line: &str, msg: impl Into<String>) -> ParseError {
        ParseError::new(self.line, line, msg)
    }

    /// A `#` line; `p` is just after the `#`.
    fn comment(&mut self, line: &'a str, p: usize) -> Result<Option<Entry<'a>>, ParseError> {
        let b = line.as_bytes();
        let om = self.format == Format::OpenMetrics;
        let kw_start = skip_blank(b, p);
        let kw_end = token_end(b, kw_start);
        let kw = &line[kw_start..kw_end];
        match kw {
            "HELP" | "TYPE" | "UNIT" if kw_end < b.len() => {}
            "EOF" if skip_blank(b, kw_end) == b.len() => {
                if om {
                    self.eof_seen = true;
                }
                return Ok(None);
            }
            _ if !om => return Ok(None),
            "HELP" | "TYPE" | "UNIT" => {
                return Err(self.err(line, format!("expected a metric family name after \"# {kw}\"")))
            }
            _ => {
                return Err(self.err(
                    line,
                    "OpenMetrics allows only \"# HELP\", \"# TYPE\", \"# UNIT\" and \"# EOF\" comment lines",
                ))
            }
        }
        let name_start = skip_blank(b, kw_end);
        let (family, name_end) = self.family_name(line, name_start, kw)?;
        let rest_start = if name_end < b.len() {
            if b[name_end] != b' ' && b[name_end] != b'\t' {
                return Err(self.err(
                    line,
                    format!("invalid character {:?} in metric name", char_at(line, name_end)),
                ));
            }
            name_end + 1
        } else {
            name_end
        };
        match kw {
            "HELP" => {
                let rest = if om {
                    &line[rest_start..]
                } else {
                    &line[skip_blank(b, rest_start)..]
                };
                let help = if om {
                    unescape(rest, rest.contains('\\'))
                } else {
                    unescape_help_text(rest)
                };
                Ok(Some(Entry::Help { family, help }))
            }
            "TYPE" => {
                let t_start = skip_blank(b, rest_start);
                let t_end = token_end(b, t_start);
                let word = &line[t_start..t_end];
                let metric_type = match word {
                    "counter" => MetricType::Counter,
                    "gauge" => MetricType::Gauge,
                    "histogram" => MetricType::Histogram,
                    "summary" => MetricType::Summary,
                    "untyped" | "unknown" => MetricType::Unknown,
                    "gaugehistogram" if om => MetricType::Gaugehistogram,
                    "info" if om => MetricType::Info,
                    "stateset" if om => MetricType::Stateset,
                    "" => return Err(self.err(line, format!("missing metric type for {family:?}"))),
                    _ => return Err(self.err(line, format!("invalid metric type {word:?}"))),
                };
                if skip_blank(b, t_end) != b.len() {
                    return Err(self.err(line, "unexpected text after the metric type"));
                }
                self.family = family.clone();
                self.family_type = metric_type;
                Ok(Some(Entry::Type { family, metric_type }))
            }
            _ => {
                let u_start = skip_blank(b, rest_start);
                let u_end = token_end(b, u_start);
                if skip_blank(b, u_end) != b.len() {
                    return Err(self.err(line, "unexpected text after the unit"));
                }
                Ok(Some(Entry::Unit {
                    family,
                    unit: &line[u_start..u_end],
                }))
            }
        }
    }

    /// A family name after HELP/TYPE/UNIT: bare, or quoted (UTF-8 names).
    fn family_name(&self, line: &'a str, p: usize, kw: &str) -> Result<(Cow<'a, str>, usize), ParseError> {
        let b = line.as_bytes();
        if p < b.len() && b[p] == b'"' {
            let (close, esc) =
                quoted_end(b, p).ok_or_else(|| self.err(line, "unterminated quoted metric name"))?;
            return Ok((unescape(&line[p + 1..close], esc), close + 1));
        }
        if p >= b.len() || !is_metric_name_start(b[p]) {
            return Err(self.err(line, format!("expected a metric family name after \"# {kw}\"")));
        }
        let end = take_while(b, p, is_metric_name_char);
        Ok((Cow::Borrowed(&line[p..end]), end))
    }

    /// Whether the line's series (from `p`) is exactly `expected`, a series text parsed before:
    /// the line starts with it, followed by a blank, and a bare name is not followed by a label
    /// set. Returns the length of `expected` and the position of its `{` (if any).
    fn known_series(&self, line: &str, p: usize, expected: &str) -> Option<(usize, Option<usize>)> {
        let b = line.as_bytes();
        let e = expected.as_bytes();
        let end = p + e.len();
        if b.len() <= end || (b[end] != b' ' && b[end] != b'\t') || &b[p..end] != e {
            return None;
        }
        let brace = memchr::memchr(b'{', e).map(|i| p + i);
        if brace.is_none() {
            let after = skip_blank(b, end);
            if after < b.len() && b[after] == b'{' {
                return None;
            }
        }
        Some((e.len(), brace))
    }

    /// A sample line whose series text (`len` bytes from `p`, `{` at `brace`) is known valid.
    fn sample_known(
        &mut self,
        line: &'a str,
        p: usize,
        (len, brace): (usize, Option<usize>),
    ) -> Result<SampleEntry<'a>, ParseError> {
        let series_end = p + len;
        let (name_end, labels) = match brace {
            // Between the name and `{` there may be blanks; the label text ends before `}`.
            Some(open) => (
                p + take_while(&line.as_bytes()[p..open], 0, is_metric_name_char),
                RawLabels {
                    text: &line[open + 1..series_end - 1],
                },
            ),
            None => (series_end, RawLabels::default()),
        };
        let name = Cow::Borrowed(&line[p..name_end]);
        self.sample_rest(line, p, name, labels, series_end)
    }

    /// A sample line starting at `p`.
    fn sample(&mut self, line: &'a str, p: usize) -> Result<SampleEntry<'a>, ParseError> {
        let b = line.as_bytes();
        let mut name: Option<Cow<'a, str>> = None;
        let mut q = p;
        if b[p] != b'{' {
            if !is_metric_name_start(b[p]) {
                return Err(self.err(
                    line,
                    format!("expected a metric name, found {:?}", char_at(line, p)),
                ));
            }
            q = take_while(b, p, is_metric_name_char);
            name = Some(Cow::Borrowed(&line[p..q]));
        }
        let name_end = q;
        let mut labels = RawLabels::default();
        let after_name = skip_blank(b, q);
        if after_name < b.len() && b[after_name] == b'{' {
            let (close, quoted_name) = self.label_set(line, after_name)?;
            labels = RawLabels {
                text: &line[after_name + 1..close],
            };
            if let Some(n) = quoted_name {
                if name.is_some() {
                    return Err(self.err(line, "metric name given twice"));
                }
                name = Some(n);
            }
            q = close + 1;
        } else if q == name_end && q < b.len() && b[q] != b' ' && b[q] != b'\t' {
            return Err(self.err(
                line,
                format!("invalid character {:?} in metric name", char_at(line, q)),
            ));
        }
        let name = name.ok_or_else(|| self.err(line, "missing metric name"))?;
        if name.is_empty() {
            return Err(self.err(line, "empty metric name"));
        }
        self.sample_rest(line, p, name, labels, q)
    }

    /// The rest of a sample line after its series (ending at `q`): value, timestamp, exemplar.
    fn sample_rest(
        &mut self,
        line: &'a str,
        p: usize,
        name: Cow<'a, str>,
        labels: RawLabels<'a>,
        q: usize,
    ) -> Result<SampleEntry<'a>, ParseError> {
        let b = line.as_bytes();
        let om = self.format == Format::OpenMetrics;
        let series_end = q;
        // Value (`q` is just after the series).
        let v_start = skip_blank(b, q);
        if v_start == q && v_start < b.len() {
            return Err(self.err(
                line,
                format!("expected a space before the value, found {:?}", char_at(line, q)),
            ));
        }
        if v_start >= b.len() {
            return Err(self.err(line, format!("missing value for {name:?}")));
        }
        let v_end = token_end(b, v_start);
        let vtext = &line[v_start..v_end];
        let value = parse_value(vtext).ok_or_else(|| self.err(line, format!("invalid value {vtext:?}")))?;
        // Optional timestamp, then (OpenMetrics) an optional exemplar.
        let mut timestamp_ms = None;
        let mut exemplar = None;
        let mut r = skip_blank(b, v_end);
        if r < b.len() && b[r] != b'#' {
            let t_end = token_end(b, r);
            let ttext = &line[r..t_end];
            timestamp_ms = Some(self.timestamp(line, ttext)?);
            r = skip_blank(b, t_end);
        }
        if r < b.len() {
            if b[r] == b'#' && om {
                exemplar = Some(self.exemplar(line, r + 1)?);
            } else if b[r] == b'#' {
                return Err(self.err(line, "exemplars are only allowed in OpenMetrics"));
            } else {
                return Err(self.err(
                    line,
                    format!("unexpected text {:?} after the timestamp", &line[r..]),
                ));
            }
        }
        let (metric_type, created) = self.classify(&name);
        Ok(SampleEntry {
            name,
            labels,
            series: &line[p..series_end],
            value,
            timestamp_ms,
            exemplar,
            metric_type,
            created,
            line: self.line,
        })
    }

    fn timestamp(&self, line: &str, ttext: &str) -> Result<i64, ParseError> {
        let ts = if self.format == Format::OpenMetrics {
            parse_seconds_to_ms(ttext)
        } else {
            ttext.parse::<i64>().ok()
        };
        ts.ok_or_else(|| {
            let unit = if self.format == Format::OpenMetrics {
                "seconds"
            } else {
                "integer milliseconds"
            };
            self.err(line, format!("invalid timestamp {ttext:?} (expected {unit})"))
        })
    }

    /// `{labels}` starting at the `{` at `open`. Returns the index of `}` and a quoted metric
    /// name if one was inside.
    fn label_set(&self, line: &'a str, open: usize) -> Result<(usize, Option<Cow<'a, str>>), ParseError> {
        let b = line.as_bytes();
        let mut p = open + 1;
        let mut quoted_name = None;
        loop {
            p = skip_blank(b, p);
            if p >= b.len() {
                return Err(self.err(line, "unterminated label set (missing '}')"));
            }
            if b[p] == b'}' {
                return Ok((p, quoted_name));
            }
            // Label name: bare or quoted.
            let (lname, quoted, n_end) = if b[p] == b'"' {
                let (close, esc) =
                    quoted_end(b, p).ok_or_else(|| self.err(line, "unterminated quoted label name"))?;
                (unescape(&line[p + 1..close], esc), true, close + 1)
            } else if is_label_name_start(b[p]) {
                let end = take_while(b, p, is_label_name_char);
                (Cow::Borrowed(&line[p..end]), false, end)
            } else {
                return Err(self.err(
                    line,
                    format!("expected a label name, found {:?}", char_at(line, p)),
                ));
            };
            p = skip_blank(b, n_end);
            if p < b.len() && b[p] == b'=' {
                p = skip_blank(b, p + 1);
                if p >= b.len() || b[p] != b'"' {
                    let found = found_at(line, p);
                    return Err(self.err(
                        line,
                        format!("expected a quoted value for label {lname:?}, found {found}"),
                    ));
                }
                let (close, _) = quoted_end(b, p)
                    .ok_or_else(|| self.err(line, format!("unterminated value of label {lname:?}")))?;
                p = close + 1;
            } else if quoted {
                if quoted_name.is_some() {
                    return Err(self.err(line, "metric name given twice"));
                }
                quoted_name = Some(lname);
            } else {
                let found = found_at(line, p);
                return Err(self.err(
                    line,
                    format!("expected '=' after label name {lname:?}, found {found}"),
                ));
            }
            p = skip_blank(b, p);
            if p < b.len() && b[p] == b',' {
                p += 1;
            } else if p < b.len() && b[p] != b'}' {
                return Err(self.err(
                    line,
                    format!("expected ',' or '}}' in label set, found {:?}", char_at(line, p)),
                ));
            }
        }
    }

    /// An OpenMetrics exemplar after `#` at `p - 1`.
    fn exemplar(&self, line: &'a str, p: usize) -> Result<Exemplar<'a>, ParseError> {
        let b = line.as_bytes();
        let p = skip_blank(b, p);
        if p >= b.len() || b[p] != b'{' {
            return Err(self.err(line, "expected '{' to start the exemplar's labels"));
        }
        let (close, quoted) = self.label_set(line, p)?;
        if quoted.is_some() {
            return Err(self.err(line, "an exemplar has no metric name"));
        }
        let labels = RawLabels {
            text: &line[p + 1..close],
        };
        let runes: usize = labels
            .iter()
            .map(|(n, v)| n.chars().count() + v.chars().count())
            .sum();
        if runes > 128 {
            return Err(self.err(
                line,
                format!("exemplar labels have {runes} characters, more than 128"),
            ));
        }
        let v_start = skip_blank(b, close + 1);
        if v_start >= b.len() {
            return Err(self.err(line, "missing exemplar value"));
        }
        let v_end = token_end(b, v_start);
        let vtext = &line[v_start..v_end];
        let value =
            parse_value(vtext).ok_or_else(|| self.err(line, format!("invalid exemplar value {vtext:?}")))?;
        let t_start = skip_blank(b, v_end);
        let mut timestamp_ms = None;
        if t_start < b.len() {
            let t_end = token_end(b, t_start);
            let ttext = &line[t_start..t_end];
            timestamp_ms = Some(
                parse_seconds_to_ms(ttext)
                    .ok_or_else(|| self.err(line, format!("invalid exemplar timestamp {ttext:?}")))?,
            );
            if skip_blank(b, t_end) != b.len() {
                return Err(self.err(line, "unexpected text after the exemplar"));
            }
        }
        Ok(Exemplar {
            labels,
            value,
            timestamp_ms,
        })
    }

    /// The type of the current family if `name` belongs to it, and whether it is `_created`.
    fn classify(&self, name: &str) -> (MetricType, bool) {
        let fam = self.family.as_ref();
        if fam.is_empty() {
            return (MetricType::Unknown, false);
        }
        let Some(suffix) = name.strip_prefix(fam) else {
            return (MetricType::Unknown, false);
        };
        let t = self.family_type;
        let ok = matches!(
            (t, suffix),
            (_, "")
                | (MetricType::Counter, "_total" | "_created")
                | (MetricType::Histogram, "_bucket" | "_sum" | "_count" | "_created")
                | (MetricType::Gaugehistogram, "_bucket" | "_gsum" | "_gcount")
                | (MetricType::Summary, "_sum" | "_count" | "_created")
                | (MetricType::Info, "_info")
        );
        if ok {
            (t, suffix == "_created")
        } else {
            (MetricType::Unknown, false)
        }
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

/// What stands at `pos` of `line`, for "found ..." in errors: the quoted character, or
/// "end of line".
fn found_at(line: &str, pos: usize) -> String {
    if pos >= line.len() {
        "end of line".to_string()
    } else {
        format!("{:?}", char_at(line, pos))
    }
}

fn char_at(line: &str, pos: usize) -> char {
    line.get(pos..).and_then(|s| s.chars().next()).unwrap_or(' ')
}
