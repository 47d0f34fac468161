//! A small template engine for alert labels and annotations, covering the commonly used
//! subset of Go's `text/template` as Prometheus uses it.
//!
//! # Supported
//! - Text and `{{ ... }}` actions, with `{{-` / `-}}` whitespace trimming and `{{/* comments */}}`.
//! - Variables `$labels`, `$value`, `$externalLabels`, `$externalURL`, `$` and the data fields
//!   `.Labels`, `.Value`, `.ExternalLabels`, `.ExternalURL`; field access on maps
//!   (`$labels.instance`; a missing key is the empty string, as Prometheus'
//!   `missingkey=zero`); declarations `{{ $x := ... }}` (template-wide scope).
//! - Literals: strings (`"..."` with Go escapes, `` `raw` ``), integers, floats, `true`/`false`.
//! - Pipelines `a | f b` (the piped value is the last argument), parenthesised sub-pipelines.
//! - `{{ if }} ... {{ else if }} ... {{ else }} ... {{ end }}`.
//! - Functions: `humanize`, `humanize1024`, `humanizePercentage`, `humanizeDuration`,
//!   `humanizeTimestamp`, `printf`,
//!   `toUpper`, `toLower`, `title`, `stripPort`, `match`, `reReplaceAll`, `eq`, `ne`, `lt`,
//!   `le`, `gt`, `ge`, `and`, `or`, `not`, `len`, `index`.
//!
//! # Not supported
//! `range`, `with`, `define`/`template`/`block`, and Prometheus' query functions (`query`,
//! `first`, `label`, `value`, `sortByLabel`): templates using them fail to parse, which the
//! rule-file validation reports.

mod funcs;
pub mod gofmt;

use std::collections::BTreeMap;
use std::fmt;

pub use funcs::{humanize, humanize_duration, humanize_percentage};

/// A value during template execution.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// A string.
    Str(String),
    /// A float (Go `float64`).
    Num(f64),
    /// An integer (Go `int`).
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A string map (label sets).
    Map(BTreeMap<String, String>),
    /// The whole template data (`.`).
    Data,
    /// No value.
    Nil,
}

impl Val {
    fn truthy(&self) -> bool {
        match self {
            Val::Str(s) => !s.is_empty(),
            Val::Num(v) => *v != 0.0,
            Val::Int(i) => *i != 0,
            Val::Bool(b) => *b,
            Val::Map(m) => !m.is_empty(),
            Val::Data => true,
            Val::Nil => false,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Num(v) => Some(*v),
            Val::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The value of a float (not an integer: Go's `%f` rejects ints).
    fn as_float(&self) -> Option<f64> {
        match self {
            Val::Num(v) => Some(*v),
            _ => None,
        }
    }

    /// Go's `%!verb(type=value)` rendering of a mismatched argument.
    fn type_and_value(&self) -> String {
        match self {
            Val::Str(s) => format!("string={s}"),
            Val::Num(_) => format!("float64={self}"),
            Val::Int(i) => format!("int={i}"),
            Val::Bool(b) => format!("bool={b}"),
            Val::Map(_) => format!("map[string]string={self}"),
            Val::Data | Val::Nil => "<nil>".into(),
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Str(s) => f.write_str(s),
            Val::Num(v) => f.write_str(&gofmt::format_g(*v, None)),
            Val::Int(i) => write!(f, "{i}"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Map(m) => {
                let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                write!(f, "map[{}]", parts.join(" "))
            }
            Val::Data => f.write_str("{}"),
            Val::Nil => f.write_str("<no value>"),
        }
    }
}

/// The data a template is executed with.
#[derive(Clone, Debug, Default)]
pub struct TemplateData {
    /// The alert's labels (`$labels`).
    pub labels: BTreeMap<String, String>,
    /// The external labels (`$externalLabels`).
    pub external_labels: BTreeMap<String, String>,
    /// The external URL (`$externalURL`).
    pub external_url: String,
    /// The sample value (`$value`).
    pub value: f64,
    /// The sample's native histogram as Prometheus prints it, when the sample is one: then
    /// `$value` is that histogram (printed as this text) rather than `value`.
    pub histogram: Option<String>,
}

impl TemplateData {
    /// `$value`: the float, or the histogram of a histogram sample.
    fn value(&self) -> Val {
        match &self.histogram {
            Some(h) => Val::Str(h.clone()),
            None => Val::Num(self.value),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Var(String),
    Field(String),
    Dot,
    Str(String),
    Int(i64),
    Num(f64),
    Ident(String),
    Pipe,
    LParen,
    RParen,
    Assign,
}

#[derive(Clone, Debug)]
enum Arg {
    Var(String, Vec<String>),
    Field(Vec<String>),
    Lit(Val),
    Func(String),
    Sub(Pipeline),
}

#[derive(Clone, Debug)]
struct Pipeline {
    decl: Option<String>,
    cmds: Vec<Vec<Arg>>,
}

#[derive(Clone, Debug)]
enum Node {
    Text(String),
    Action(Pipeline),
    If(Vec<(Pipeline, Vec<Node>)>, Vec<Node>),
}

/// A parsed template.
#[derive(Clone, Debug)]
pub struct Template {
    nodes: Vec<Node>,
}

const FUNCS: &[&str] = &[
    "humanize",
    "humanize1024",
    "humanizePercentage",
    "humanizeDuration",
    "humanizeTimestamp",
    "printf",
    "toUpper",
    "toLower",
    "title",
    "stripPort",
    "match",
    "reReplaceAll",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "not",
    "len",
    "index",
];

/// A raw piece of the source: text or the inside of an action.
enum Piece {
    Text(String),
    Action(String),
}

fn split(src: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut text = &rest[..open];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[open + 2..];
        let trim_left = after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n");
        if trim_left {
            text = text.trim_end();
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_string()));
        }
        let body_start = if trim_left { &after[1..] } else { after };
        let close = find_close(body_start).ok_or_else(|| "unclosed action".to_string())?;
        let mut body = &body_start[..close];
        trim_next = false;
        if body.ends_with(" -") || body.ends_with("\t-") || body.ends_with("\n-") {
            body = &body[..body.len() - 1];
            trim_next = true;
        }
        pieces.push(Piece::Action(body.trim().to_string()));
        rest = &body_start[close + 2..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    if !text.is_empty() {
        pieces.push(Piece::Text(text.to_string()));
    }
    Ok(pieces)
}

/// Position of the `}}` closing an action, skipping string literals.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if b.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let word = |i: &mut usize| {
        let st = *i;
        while *i < cs.len() && is_ident_char(cs[*i]) {
            *i += 1;
        }
        cs[st..*i].iter().collect::<String>()
    };
    while i < cs.len() {
        let c = cs[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '|' => {
                out.push(Tok::Pipe);
                i += 1
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            ':' if cs.get(i + 1) == Some(&'=') => {
                out.push(Tok::Assign);
                i += 2
            }
            '=' => {
                out.push(Tok::Assign);
                i += 1
            }
            '$' => {
                i += 1;
                let name = word(&mut i);
                out.push(Tok::Var(name));
                while i < cs.len() && cs[i] == '.' {
                    i += 1;
                    let f = word(&mut i);
                    if f.is_empty() {
                        return Err(format!("bad field access in {s:?}"));
                    }
                    out.push(Tok::Field(f));
                }
            }
            '.' => {
                i += 1;
                if i < cs.len() && is_ident_char(cs[i]) && !cs[i].is_ascii_digit() {
                    out.push(Tok::Field(word(&mut i)));
                    while i < cs.len() && cs[i] == '.' {
                        i += 1;
                        out.push(Tok::Field(word(&mut i)));
                    }
                } else {
                    out.push(Tok::Dot);
                }
            }
            '"' => {
                i += 1;
                let mut v = String::new();
                loop {
                    let Some(&ch) = cs.get(i) else {
                        return Err("unterminated quoted string".into());
                    };
                    i += 1;
                    match ch {
                        '"' => break,
                        '\\' => {
                            let e = cs.get(i).copied().ok_or("unterminated quoted string")?;
                            i += 1;
                            v.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                '\\' => '\\',
                                '"' => '"',
                                other => return Err(format!("unknown escape sequence \\{other}")),
                            });
                        }
                        ch => v.push(ch),
                    }
                }
                out.push(Tok::Str(v));
            }
            '`' => {
                i += 1;
                let st = i;
                while i < cs.len() && cs[i] != '`' {
                    i += 1;
                }
                if i >= cs.len() {
                    return Err("unterminated raw string".into());
                }
                out.push(Tok::Str(cs[st..i].iter().collect()));
                i += 1;
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+') && cs.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let st = i;
                i += 1;
                while i < cs.len() && (cs[i].is_ascii_alphanumeric() || cs[i] == '.' || cs[i] == '_') {
                    i += 1;
                }
                let lit: String = cs[st..i].iter().collect();
                if let Ok(n) = lit.parse::<i64>() {
                    out.push(Tok::Int(n));
                } else if let Ok(f) = lit.parse::<f64>() {
                    out.push(Tok::Num(f));
                } else {
                    return Err(format!("bad number syntax: {lit:?}"));
                }
            }
            c if is_ident_char(c) => out.push(Tok::Ident(word(&mut i))),
            other => return Err(format!("unexpected {other:?} in action {s:?}")),
        }
    }
    Ok(out)
}

struct PipeParser {
    toks: Vec<Tok>,
    pos: usize,
}

impl PipeParser {
    fn pipeline(&mut self) -> Result<Pipeline, String> {
        let mut decl = None;
        if let (Some(Tok::Var(v)), Some(Tok::Assign)) = (self.toks.get(self.pos), self.toks.get(self.pos + 1))
        {
            decl = Some(v.clone());
            self.pos += 2;
        }
        let mut cmds = Vec::new();
        loop {
            let mut cmd = Vec::new();
            while let Some(t) = self.toks.get(self.pos) {
                if matches!(t, Tok::Pipe | Tok::RParen) {
                    break;
                }
                cmd.push(self.arg()?);
            }
            if cmd.is_empty() {
                return Err("missing command in pipeline".into());
            }
            cmds.push(cmd);
            if self.toks.get(self.pos) == Some(&Tok::Pipe) {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(Pipeline { decl, cmds })
    }

    fn fields(&mut self) -> Vec<String> {
        let mut fs = Vec::new();
        while let Some(Tok::Field(f)) = self.toks.get(self.pos) {
            fs.push(f.clone());
            self.pos += 1;
        }
        fs
    }

    fn arg(&mut self) -> Result<Arg, String> {
        let t = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or("unexpected end of action")?;
        self.pos += 1;
        Ok(match t {
            Tok::Var(v) => {
                let fs = self.fields();
                Arg::Var(v, fs)
            }
            Tok::Field(f) => {
                let mut fs = vec![f];
                fs.extend(self.fields());
                Arg::Field(fs)
            }
            Tok::Dot => Arg::Field(Vec::new()),
            Tok::Str(s) => Arg::Lit(Val::Str(s)),
            Tok::Int(i) => Arg::Lit(Val::Int(i)),
            Tok::Num(f) => Arg::Lit(Val::Num(f)),
            Tok::Ident(id) => match id.as_str() {
                "true" => Arg::Lit(Val::Bool(true)),
                "false" => Arg::Lit(Val::Bool(false)),
                "nil" => Arg::Lit(Val::Nil),
                f if FUNCS.contains(&f) => Arg::Func(id),
                other => return Err(format!("function {other:?} not defined")),
            },
            Tok::LParen => {
                let p = self.pipeline()?;
                if self.toks.get(self.pos) != Some(&Tok::RParen) {
                    return Err("unclosed left paren".into());
                }
                self.pos += 1;
                Arg::Sub(p)
            }
            Tok::Pipe | Tok::RParen | Tok::Assign => return Err(format!("unexpected {t:?}")),
        })
    }
}

fn parse_pipeline(src: &str) -> Result<Pipeline, String> {
    let toks = lex(src)?;
    let mut p = PipeParser { toks, pos: 0 };
    let pl = p.pipeline()?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected {:?} in action {src:?}", p.toks[p.pos]));
    }
    Ok(pl)
}

/// What ended a list of nodes.
enum Stop {
    Eof,
    Else(Option<String>),
    EndKw,
}

fn parse_nodes(
    pieces: &mut std::iter::Peekable<std::vec::IntoIter<Piece>>,
) -> Result<(Vec<Node>, Stop), String> {
    let mut nodes = Vec::new();
    while let Some(p) = pieces.next() {
        match p {
            Piece::Text(t) => nodes.push(Node::Text(t)),
            Piece::Action(a) => {
                if a.starts_with("/*") {
                    if !a.ends_with("*/") {
                        return Err("unclosed comment".into());
                    }
                    continue;
                }
                let (kw, rest) = a.split_once(char::is_whitespace).unwrap_or((a.as_str(), ""));
                match kw {
                    "end" => return Ok((nodes, Stop::EndKw)),
                    "else" => {
                        let rest = rest.trim();
                        let cond = rest.strip_prefix("if").map(|c| c.trim().to_string());
                        if !rest.is_empty() && cond.is_none() {
                            return Err(format!("unexpected {rest:?} after else"));
                        }
                        return Ok((nodes, Stop::Else(cond)));
                    }
                    "if" => {
                        let mut branches = Vec::new();
                        let mut cond = parse_pipeline(rest)?;
                        loop {
                            let (body, end) = parse_nodes(pieces)?;
                            match end {
                                Stop::Eof => return Err("unexpected EOF: missing {{ end }}".into()),
                                Stop::EndKw => {
                                    branches.push((cond, body));
                                    nodes.push(Node::If(branches, Vec::new()));
                                    break;
                                }
                                Stop::Else(Some(c)) => {
                                    branches.push((cond, body));
                                    cond = parse_pipeline(&c)?;
                                }
                                Stop::Else(None) => {
                                    branches.push((cond, body));
                                    let (els, end) = parse_nodes(pieces)?;
                                    if !matches!(end, Stop::EndKw) {
                                        return Err("expected {{ end }} after {{ else }}".into());
                                    }
                                    nodes.push(Node::If(branches, els));
                                    break;
                                }
                            }
                        }
                    }
                    "range" | "with" | "define" | "template" | "block" | "break" | "continue" => {
                        return Err(format!("{{{{ {kw} }}}} is not supported"))
                    }
                    _ => nodes.push(Node::Action(parse_pipeline(&a)?)),
                }
            }
        }
    }
    Ok((nodes, Stop::Eof))
}

impl Template {
    /// Parses a template; the error says what is malformed.
    pub fn parse(src: &str) -> Result<Template, String> {
        let mut pieces = split(src)?.into_iter().peekable();
        let (nodes, end) = parse_nodes(&mut pieces)?;
        match end {
            Stop::Eof => Ok(Template { nodes }),
            Stop::EndKw => Err("unexpected {{ end }}".into()),
            Stop::Else(_) => Err("unexpected {{ else }}".into()),
        }
    }

    /// Runs the template over `data`.
    pub fn execute(&self, data: &TemplateData) -> Result<String, String> {
        let mut ex = Exec {
            data,
            vars: BTreeMap::new(),
        };
        let mut out = String::new();
        ex.nodes(&self.nodes, &mut out)?;
        Ok(out)
    }
}

/// Parses and runs `src` in one go (what alerting rules do for each alert).
pub fn expand(src: &str, data: &TemplateData) -> Result<String, String> {
    if !src.contains("{{") {
        return Ok(src.to_string());
    }
    Template::parse(src)?.execute(data)
}

struct Exec<'a> {
    data: &'a TemplateData,
    vars: BTreeMap<String, Val>,
}

impl Exec<'_> {
    fn nodes(&mut self, nodes: &[Node], out: &mut String) -> Result<(), String> {
        for n in nodes {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipeline(p)?;
                    if p.decl.is_none() {
                        out.push_str(&v.to_string());
                    }
                }
                Node::If(branches, els) => {
                    let mut done = false;
                    for (cond, body) in branches {
                        if self.pipeline(cond)?.truthy() {
                            self.nodes(body, out)?;
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        self.nodes(els, out)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn pipeline(&mut self, p: &Pipeline) -> Result<Val, String> {
        let mut piped: Option<Val> = None;
        for cmd in &p.cmds {
            piped = Some(self.command(cmd, piped)?);
        }
        let v = piped.unwrap_or(Val::Nil);
        if let Some(d) = &p.decl {
            self.vars.insert(d.clone(), v.clone());
        }
        Ok(v)
    }

    fn command(&mut self, cmd: &[Arg], piped: Option<Val>) -> Result<Val, String> {
        if let Some(Arg::Func(name)) = cmd.first() {
            let mut args = Vec::with_capacity(cmd.len());
            for a in &cmd[1..] {
                args.push(self.arg(a)?);
            }
            args.extend(piped);
            return call(name, &args);
        }
        if cmd.len() > 1 || piped.is_some() {
            return Err("can't give argument to non-function".into());
        }
        self.arg(&cmd[0])
    }

    fn field_of(&self, base: Val, fields: &[String]) -> Result<Val, String> {
        let mut v = base;
        for f in fields {
            v = match v {
                Val::Data => match f.as_str() {
                    "Labels" => Val::Map(self.data.labels.clone()),
                    "ExternalLabels" => Val::Map(self.data.external_labels.clone()),
                    "ExternalURL" => Val::Str(self.data.external_url.clone()),
                    "Value" => self.data.value(),
                    other => return Err(format!("can't evaluate field {other}")),
                },
                Val::Map(m) => Val::Str(m.get(f).cloned().unwrap_or_default()),
                other => return Err(format!("can't evaluate field {f} in {}", other.type_and_value())),
            };
        }
        Ok(v)
    }

    fn arg(&mut self, a: &Arg) -> Result<Val, String> {
        match a {
            Arg::Lit(v) => Ok(v.clone()),
            Arg::Sub(p) => self.pipeline(p),
            Arg::Func(name) => call(name, &[]),
            Arg::Field(fs) => self.field_of(Val::Data, fs),
            Arg::Var(name, fs) => {
                let base = match name.as_str() {
                    "" => Val::Data,
                    "labels" => Val::Map(self.data.labels.clone()),
                    "externalLabels" => Val::Map(self.data.external_labels.clone()),
                    "externalURL" => Val::Str(self.data.external_url.clone()),
                    "value" => self.data.value(),
                    other => self
                        .vars
                        .get(other)
                        .cloned()
                        .ok_or_else(|| format!("undefined variable: ${other}"))?,
                };
                self.field_of(base, fs)
            }
        }
    }
}

fn num_arg(name: &str, v: &Val) -> Result<f64, String> {
    match v {
        Val::Num(f) => Ok(*f),
        Val::Int(i) => Ok(*i as f64),
        Val::Str(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("{name}: cannot convert {s:?} to a number")),
        other => Err(format!(
            "{name}: expected a number, got {}",
            other.type_and_value()
        )),
    }
}

fn str_arg(name: &str, v: &Val) -> Result<String, String> {
    match v {
        Val::Str(s) => Ok(s.clone()),
        other => Err(format!(
            "{name}: expected a string, got {}",
            other.type_and_value()
        )),
    }
}

fn compare(name: &str, a: &Val, b: &Val) -> Result<std::cmp::Ordering, String> {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Ok(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) if matches!(name, "eq" | "ne") => Ok(x.cmp(y)),
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x
                .partial_cmp(&y)
                .ok_or_else(|| format!("{name}: cannot compare NaN")),
            _ => Err(format!(
                "{name}: incompatible types for comparison: {} and {}",
                a.type_and_value(),
                b.type_and_value()
            )),
        },
    }
}

fn call(name: &str, args: &[Val]) -> Result<Val, String> {
    use std::cmp::Ordering::*;
    let want = |n: usize| -> Result<(), String> {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "wrong number of args for {name}: want {n} got {}",
                args.len()
            ))
        }
    };
    Ok(match name {
        "humanize" => {
            want(1)?;
            Val::Str(funcs::humanize(num_arg(name, &args[0])?))
        }
        "humanize1024" => {
            want(1)?;
            Val::Str(funcs::humanize1024(num_arg(name, &args[0])?))
        }
        "humanizePercentage" => {
            want(1)?;
            Val::Str(funcs::humanize_percentage(num_arg(name, &args[0])?))
        }
        "humanizeDuration" => {
            want(1)?;
            Val::Str(funcs::humanize_duration(num_arg(name, &args[0])?))
        }
        "humanizeTimestamp" => {
            want(1)?;
            Val::Str(funcs::humanize_timestamp(num_arg(name, &args[0])?))
        }
        "printf" => {
            let Some((fmt, rest)) = args.split_first() else {
                return Err("wrong number of args for printf: want at least 1 got 0".into());
            };
            Val::Str(funcs::printf(&str_arg(name, fmt)?, rest)?)
        }
        "toUpper" => {
            want(1)?;
            Val::Str(str_arg(name, &args[0])?.to_uppercase())
        }
        "toLower" => {
            want(1)?;
            Val::Str(str_arg(name, &args[0])?.to_lowercase())
        }
        "title" => {
            want(1)?;
            Val::Str(funcs::title(&str_arg(name, &args[0])?))
        }
        "stripPort" => {
            want(1)?;
            Val::Str(funcs::strip_port(&str_arg(name, &args[0])?))
        }
        "match" => {
            want(2)?;
            let re = regex::Regex::new(&str_arg(name, &args[0])?).map_err(|e| format!("match: {e}"))?;
            Val::Bool(re.is_match(&str_arg(name, &args[1])?))
        }
        "reReplaceAll" => {
            want(3)?;
            let re =
                regex::Regex::new(&str_arg(name, &args[0])?).map_err(|e| format!("reReplaceAll: {e}"))?;
            let repl = str_arg(name, &args[1])?;
            Val::Str(
                re.replace_all(&str_arg(name, &args[2])?, repl.as_str())
                    .into_owned(),
            )
        }
        "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
            want(2)?;
            let o = compare(name, &args[0], &args[1])?;
            Val::Bool(match name {
                "eq" => o == Equal,
                "ne" => o != Equal,
                "lt" => o == Less,
                "le" => o != Greater,
                "gt" => o == Greater,
                _ => o != Less,
            })
        }
        "and" => {
            if args.is_empty() {
                return Err("wrong number of args for and: want at least 1 got 0".into());
            }
            args.iter()
                .find(|a| !a.truthy())
                .unwrap_or(&args[args.len() - 1])
                .clone()
        }
        "or" => {
            if args.is_empty() {
                return Err("wrong number of args for or: want at least 1 got 0".into());
            }
            args.iter()
                .find(|a| a.truthy())
                .unwrap_or(&args[args.len() - 1])
                .clone()
        }
        "not" => {
            want(1)?;
            Val::Bool(!args[0].truthy())
        }
        "len" => {
            want(1)?;
            match &args[0] {
                Val::Str(s) => Val::Int(s.len() as i64),
                Val::Map(m) => Val::Int(m.len() as i64),
                other => return Err(format!("len of {}", other.type_and_value())),
            }
        }
        "index" => {
            want(2)?;
            match &args[0] {
                Val::Map(m) => Val::Str(m.get(&str_arg(name, &args[1])?).cloned().unwrap_or_default()),
                other => return Err(format!("can't index item of type {}", other.type_and_value())),
            }
        }
        other => return Err(format!("function {other:?} not defined")),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn data() -> TemplateData {
        TemplateData {
            labels: BTreeMap::from([
                ("instance".to_string(), "node-1:8008".to_string()),
                ("job".to_string(), "beacon".to_string()),
            ]),
            external_labels: BTreeMap::from([("cluster".to_string(), "main".to_string())]),
            external_url: "http://sextant:9090".into(),
            value: 0.4567,
            histogram: None,
        }
    }

    #[test]
    fn a_histogram_sample_is_its_value() {
        let d = TemplateData {
            histogram: Some("{count:2, sum:3, (0.5,1]:2}".into()),
            value: 0.0,
            ..data()
        };
        assert_eq!(
            expand("v={{ $value }} {{ .Value }}", &d).unwrap(),
            "v={count:2, sum:3, (0.5,1]:2} {count:2, sum:3, (0.5,1]:2}"
        );
    }

    fn run(src: &str) -> String {
        expand(src, &data()).unwrap()
    }

    #[test]
    fn variables_and_fields() {
        assert_eq!(
            run("{{ $labels.instance }} of {{ $labels.job }}"),
            "node-1:8008 of beacon"
        );
        assert_eq!(
            run("{{ .Labels.job }}/{{ $externalLabels.cluster }}"),
            "beacon/main"
        );
        assert_eq!(run("v={{ $value }}"), "v=0.4567");
        assert_eq!(
            run("v={{ .Value }} {{ $externalURL }}"),
            "v=0.4567 http://sextant:9090"
        );
        assert_eq!(run("[{{ $labels.missing }}]"), "[]");
        assert_eq!(run("no actions"), "no actions");
        assert_eq!(run("{{ $x := $labels.job }}job={{ $x }}"), "job=beacon");
        assert_eq!(run("{{/* a comment */}}ok"), "ok");
        assert_eq!(run("a  {{- \"b\" -}}  c"), "abc");
    }

    #[test]
    fn functions_and_pipelines() {
        assert_eq!(run("{{ $value | humanizePercentage }}"), "45.67%");
        assert_eq!(run("{{ humanize 123456 }}"), "123.5k");
        assert_eq!(run("{{ 3725 | humanizeDuration }}"), "1h 2m 5s");
        assert_eq!(run("{{ printf \"%.1f\" $value }}"), "0.5");
        assert_eq!(run("{{ printf \"%s is %d\" $labels.job 3 }}"), "beacon is 3");
        assert_eq!(run("{{ $labels.instance | stripPort | toUpper }}"), "NODE-1");
        assert_eq!(run("{{ \"12.5\" | humanize }}"), "12.5");
        assert_eq!(run("{{ reReplaceAll \":.*\" \"\" $labels.instance }}"), "node-1");
        assert_eq!(run("{{ printf \"%.2f\" (humanize 2000 | len) }}"), "%!f(int=2)");
    }

    #[test]
    fn conditionals() {
        assert_eq!(run("{{ if gt $value 0.5 }}high{{ else }}low{{ end }}"), "low");
        assert_eq!(
            run("{{ if eq $labels.job \"x\" }}x{{ else if eq $labels.job \"beacon\" }}b{{ else }}o{{ end }}"),
            "b"
        );
        assert_eq!(run("{{ if $labels.job }}has job{{ end }}"), "has job");
        assert_eq!(run("{{ if not $labels.nope }}none{{ end }}"), "none");
    }

    #[test]
    fn errors() {
        assert!(Template::parse("{{ $labels.x ").is_err());
        assert!(Template::parse("{{ nosuchfunc 1 }}").is_err());
        assert!(Template::parse("{{ if 1 }}x").is_err());
        assert!(Template::parse("{{ end }}").is_err());
        assert!(Template::parse("{{ range $labels }}{{ end }}").is_err());
        assert!(Template::parse("{{ \"unterminated }}").is_err());
        assert!(expand("{{ $nope }}", &data()).is_err());
        assert!(expand("{{ humanize \"abc\" }}", &data()).is_err());
        assert!(expand("{{ $value 1 }}", &data()).is_err());
    }
}
