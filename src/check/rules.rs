//! `sextant check rules FILE...`: each rule file parsed and validated as the rule manager
//! loads it (groups, names, PromQL, templates), reported as `promtool check rules` does.

use std::path::Path;

/// Checks one rule file, printing `Checking FILE` and the verdict; true when it is valid.
pub(super) fn check_file(file: &Path) -> bool {
    println!("Checking {}", file.display());
    let ok = match rules::config::load_file(file) {
        Ok(parsed) => {
            let n: usize = parsed.groups.iter().map(|g| g.rules.len()).sum();
            println!("  SUCCESS: {n} rules found");
            true
        }
        Err(e) => {
            eprintln!("  FAILED:\n{e}");
            false
        }
    };
    println!();
    ok
}
