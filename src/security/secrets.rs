//! Hiding secrets in the configuration text that `/api/v1/status/config` shows, as Prometheus
//! shows `<secret>` for every secret field: anyone allowed to read the API must not learn the
//! scrape targets' passwords, tokens or TLS keys from it.
//!
//! The text is masked line by line (the file as written, comments and all, is what Sextant
//! shows): a key named like one of Prometheus' secret fields keeps its name and gets
//! `<secret>` as value; a block scalar (`key: |` and its indented lines, e.g. an inline PEM
//! key) becomes one `<secret>` line. Flow mappings (`{password: x}`) are masked when the key
//! starts a line only; such files are rare for these fields.

/// Field names whose values are secrets in Prometheus' configuration (`config.Secret`).
const SECRET_KEYS: &[&str] = &[
    "password",
    "bearer_token",
    "credentials",
    "client_secret",
    "key",
    "secret_key",
    "token",
    "auth_token",
    "application_credential_secret",
    "api_key",
];

/// The configuration text with every secret value replaced by `<secret>`.
pub fn mask(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len());
    let mut block_indent: Option<usize> = None;
    for line in yaml.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(min) = block_indent {
            if line.trim().is_empty() || indent > min {
                continue; // a line of a masked block scalar
            }
            block_indent = None;
        }
        let body = line.trim_start();
        let body_after_dash = body.strip_prefix("- ").map(str::trim_start).unwrap_or(body);
        let key_start = line.len() - body_after_dash.len();
        let masked = body_after_dash.split_once(':').and_then(|(k, v)| {
            let k = k.trim().trim_matches(|c| c == '"' || c == '\'');
            if !SECRET_KEYS.contains(&k) || (!v.is_empty() && !v.starts_with([' ', '\t'])) {
                return None;
            }
            let v = v.trim();
            if v.is_empty() || v.starts_with('#') || v == "<secret>" {
                return None;
            }
            if v.starts_with('|') || v.starts_with('>') {
                block_indent = Some(indent);
            }
            Some(format!("{}{k}: <secret>", &line[..key_start]))
        });
        match masked {
            Some(m) => out.push_str(&m),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secret_fields_only() {
        let text = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    basic_auth:\n      username: bob\n      password: hunter2\n    authorization:\n      credentials: \"tok en\"\n    tls_config:\n      key: |\n        -----BEGIN PRIVATE KEY-----\n        abc\n        -----END PRIVATE KEY-----\n      insecure_skip_verify: false\n  - bearer_token: xyz\n    job_name: b\n    password_file: /etc/pw\n    keys: not-a-secret\n    password:\n";
        let m = mask(text);
        for secret in ["hunter2", "tok en", "abc", "PRIVATE KEY", "xyz"] {
            assert!(!m.contains(secret), "{secret} leaked:\n{m}");
        }
        for kept in [
            "username: bob",
            "      password: <secret>",
            "      credentials: <secret>",
            "      key: <secret>\n      insecure_skip_verify: false",
            "  - bearer_token: <secret>\n    job_name: b",
            "password_file: /etc/pw",
            "keys: not-a-secret",
            "scrape_interval: 15s",
        ] {
            assert!(m.contains(kept), "{kept:?} missing:\n{m}");
        }
    }
}
