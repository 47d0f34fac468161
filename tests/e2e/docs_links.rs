//! Every link in the repository's Markdown resolves inside a clone.
//!
//! Scans each `*.md` file of the repository (not `target/`, `node_modules/` or hidden
//! directories) and checks, outside fenced code blocks:
//! - inline links and images `[text](path#anchor)` and reference definitions `[id]: path`:
//!   a relative path must name a file or directory inside the repository, and an `#anchor`
//!   into a Markdown file must be the GitHub slug of one of its headings;
//! - code spans that name a Markdown file by a path (`` `docs/scaling.md` ``, with a `/`):
//!   the file must exist relative to the document or to the repository root, so a prose
//!   pointer cannot lead outside the clone either.
//!
//! URLs with a scheme (`https:`, `mailto:`) are not fetched. Needs no binary and no network.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files under `dir`, sorted, skipping build output, npm packages and dot-dirs.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !(name.starts_with('.') || name == "target" || name == "node_modules") {
                markdown_files(&path, out);
            }
        } else if name.ends_with(".md") {
            out.push(path);
        }
    }
}

/// `base/rel` with `.` and `..` removed lexically; `None` when it climbs above `root`.
fn resolve(root: &Path, base: &Path, rel: &str) -> Option<PathBuf> {
    let mut parts: Vec<Component> = base.components().collect();
    let floor = root.components().count();
    for c in Path::new(rel).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.len() <= floor {
                    return None;
                }
                parts.pop();
            }
            Component::Normal(_) => parts.push(c),
            // An absolute path is never inside a clone.
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The lines of `text` outside fenced code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| t.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(f), Some(m)) if f == m => fence = None,
            (None, None) => out.push((i + 1, line)),
            _ => {}
        }
    }
    out
}

/// Anchors of a Markdown document's headings, duplicates numbered as GitHub does (`-1`, `-2`).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let t = line.trim_start();
        if !t.starts_with('#') {
            continue;
        }
        let title = t.trim_start_matches('#');
        if !title.is_empty() && !title.starts_with(' ') {
            continue; // `#hashtag`, not a heading
        }
        let base = slug(title);
        let mut s = base.clone();
        let mut n = 0;
        while seen.contains(&s) {
            n += 1;
            s = format!("{base}-{n}");
        }
        seen.insert(s);
    }
    seen
}

/// Splits a line into its code spans and the prose between them.
fn split_code_spans(line: &str) -> (Vec<&str>, Vec<&str>) {
    let (mut code, mut prose) = (Vec::new(), Vec::new());
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].len() - rest[start..].trim_start_matches('`').len();
        let fence = &rest[start..start + ticks];
        let after = &rest[start + ticks..];
        match after.find(fence) {
            Some(end) => {
                prose.push(&rest[..start]);
                code.push(after[..end].trim());
                rest = &after[end + ticks..];
            }
            None => break, // an unmatched backtick is literal text
        }
    }
    prose.push(rest);
    (code, prose)
}

/// Link targets in a piece of prose: `](target)` and `[id]: target` definitions.
fn link_targets(prose: &str) -> Vec<String> {
    let mut out = Vec::new();
    let t = prose.trim_start();
    if t.starts_with('[') {
        if let Some(close) = t.find("]:") {
            if !t[..close].contains("](") {
                if let Some(target) = t[close + 2..].split_whitespace().next() {
                    out.push(target.trim_matches(['<', '>']).to_string());
                }
            }
        }
    }
    let mut rest = prose;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        // Up to the `)` that closes the link (parentheses inside it must balance).
        let mut depth = 0usize;
        let mut end = after.len();
        for (j, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = j;
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let inner = after[..end].trim();
        let target = if let Some(stripped) = inner.strip_prefix('<') {
            stripped.split('>').next().unwrap_or("")
        } else {
            inner.split_whitespace().next().unwrap_or("") // drop a `"title"`
        };
        out.push(target.to_string());
        rest = &after[end.min(after.len())..];
    }
    out
}

fn has_scheme(target: &str) -> bool {
    match target.find(':') {
        Some(i) => {
            let scheme = &target[..i];
            !scheme.is_empty()
                && !scheme.contains(['/', '#', '.'])
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-".contains(c))
        }
        None => false,
    }
}

/// What is wrong with the links of one document, as `file:line: ...` lines.
fn problems(root: &Path, file: &Path, text: &str) -> Vec<String> {
    let rel_file = file.strip_prefix(root).unwrap_or(file).display().to_string();
    let dir = file.parent().unwrap();
    let mut out = Vec::new();
    for (n, line) in prose_lines(text) {
        let (code, prose) = split_code_spans(line);
        for target in prose.iter().flat_map(|p| link_targets(p)) {
            if target.is_empty() {
                out.push(format!("{rel_file}:{n}: empty link target"));
                continue;
            }
            if has_scheme(&target) {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            if path.is_empty() {
                let anchor = anchor.unwrap_or("");
                if !anchors(text).contains(anchor) {
                    out.push(format!(
                        "{rel_file}:{n}: link `{target}`: no heading with anchor `#{anchor}`"
                    ));
                }
                continue;
            }
            let Some(resolved) = resolve(root, dir, path) else {
                out.push(format!(
                    "{rel_file}:{n}: link `{target}` points outside the repository"
                ));
                continue;
            };
            if !resolved.exists() {
                out.push(format!(
                    "{rel_file}:{n}: link `{target}`: no such file in the repository"
                ));
                continue;
            }
            if let Some(anchor) = anchor {
                if resolved.extension().is_some_and(|e| e == "md") {
                    let doc = std::fs::read_to_string(&resolved).unwrap_or_default();
                    if !anchors(&doc).contains(anchor) {
                        out.push(format!(
                            "{rel_file}:{n}: link `{target}`: no heading with anchor `#{anchor}`"
                        ));
                    }
                }
            }
        }
        for span in code {
            let path = span.split('#').next().unwrap_or("");
            if !path.ends_with(".md") || !path.contains('/') || path.contains(char::is_whitespace) {
                continue;
            }
            let found = [dir, root]
                .iter()
                .filter_map(|base| resolve(root, base, path))
                .any(|p| p.exists());
            if !found {
                out.push(format!(
                    "{rel_file}:{n}: `{span}` names a Markdown file that is not in the repository"
                ));
            }
        }
    }
    out
}

#[test]
fn every_markdown_link_resolves_inside_the_repository() {
    let root = repo_root();
    let mut files = Vec::new();
    markdown_files(&root, &mut files);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    for expected in ["README.md", "BENCHMARKS.md", "docs/dependencies.md"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not scanned: {names:?}"
        );
    }
    let mut all = Vec::new();
    let mut links = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        links += prose_lines(&text)
            .iter()
            .flat_map(|(_, l)| split_code_spans(l).1)
            .map(|p| link_targets(p).len())
            .sum::<usize>();
        all.extend(problems(&root, file, &text));
    }
    assert!(links >= 5, "only {links} links found: is the parser broken?");
    assert!(
        all.is_empty(),
        "{} Markdown link(s) do not resolve inside the repository:\n{}",
        all.len(),
        all.join("\n")
    );
}

#[test]
fn the_link_checker_reports_what_it_should() {
    let root = repo_root();
    let file = root.join("docs/example.md");
    let text = "\
# Title
## Security and limits
[ok](../README.md) [ok](scaling.md#when-one-sextant-is-enough) [ok](#security-and-limits) [bad](#nope)
![img](img/beacon-dashboard.png) [web](https://example.com/x.md) `../README.md`
[gone](missing.md) [out](../../outside.md) [abs](/etc/passwd) [anchor](../README.md#no-such-heading)
`../shared/research/crates.md` and `[not](a-link.md)` in code
[ref]: ./nowhere.md
```
[in a fence](nope.md)
```
";
    let got = problems(&root, &file, text);
    let want = [
        "docs/example.md:3: link `#nope`: no heading with anchor `#nope`",
        "docs/example.md:5: link `missing.md`: no such file in the repository",
        "docs/example.md:5: link `../../outside.md` points outside the repository",
        "docs/example.md:5: link `/etc/passwd` points outside the repository",
        "docs/example.md:5: link `../README.md#no-such-heading`: no heading with anchor `#no-such-heading`",
        "docs/example.md:6: `../shared/research/crates.md` names a Markdown file that is not in the repository",
        "docs/example.md:7: link `./nowhere.md`: no such file in the repository",
    ];
    assert_eq!(got, want);
}

#[test]
fn heading_anchors_follow_github() {
    let a = anchors(
        "# Sextant\n## Security and limits\n### `--demo` (simulated nodes)\n## Security and limits\n#tag\n",
    );
    let want: BTreeSet<String> = [
        "sextant",
        "security-and-limits",
        "--demo-simulated-nodes",
        "security-and-limits-1",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(a, want);
}
