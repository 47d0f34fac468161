//! `sextant check config FILE...`: each configuration file loaded exactly as the server loads
//! it at start-up (parse, defaults, validation, `scrape_config_files`), then the rule files it
//! names, reported as `promtool check config` does. A `file_sd_configs` pattern that matches no
//! file is a warning (discovery picks the files up when they appear), as in promtool.

use crate::config::LoadedConfig;
use std::path::Path;

/// Checks one configuration file, printing `Checking FILE` and the verdict; true when valid.
pub(super) fn check_file(file: &Path) -> bool {
    println!("Checking {}", file.display());
    let loaded = match LoadedConfig::load(Some(file)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("  FAILED: {e}");
            println!();
            return false;
        }
    };
    for warning in file_sd_warnings(&loaded) {
        println!("  WARNING: {warning}");
    }
    let rule_files = match rules::manager::rule_files_for_config(file, &loaded.config.rule_files) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("  FAILED: {e}");
            println!();
            return false;
        }
    };
    if !rule_files.is_empty() {
        println!("  SUCCESS: {} rule files found", rule_files.len());
    }
    println!(
        " SUCCESS: {} is valid prometheus config file syntax",
        file.display()
    );
    println!();
    let mut ok = true;
    for r in &rule_files {
        ok &= super::rules::check_file(r);
    }
    ok
}

/// One warning per `file_sd_configs` pattern that matches no file.
fn file_sd_warnings(loaded: &LoadedConfig) -> Vec<String> {
    let mut out = Vec::new();
    for sc in &loaded.config.scrape_configs {
        for sd in &sc.file_sd_configs {
            for pattern in &sd.files {
                let matched = glob::glob(pattern)
                    .map(|mut paths| paths.any(|p| p.is_ok()))
                    .unwrap_or(false);
                if !matched {
                    out.push(format!(
                        "file {pattern:?} for file_sd in scrape job {:?} does not exist",
                        sc.job_name
                    ));
                }
            }
        }
    }
    out
}
