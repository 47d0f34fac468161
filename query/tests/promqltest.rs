//! Runs every `testdata/*.test` script against the engine over a `storage::Db` in a temp dir.
#![allow(clippy::unwrap_used)]

use query::promqltest::{run_script, TestStorage};
use storage::{Db, DbOptions};

#[test]
fn promqltest_scripts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scripts in {}", dir.display());
    let tmp = tempfile::tempdir().unwrap();
    let mut n = 0;
    let mut new_db = || -> Box<dyn TestStorage> {
        n += 1;
        Box::new(Db::open(DbOptions::new(tmp.path().join(format!("db{n}")))).unwrap())
    };
    let mut failures = Vec::new();
    let mut evals = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        match run_script(&name, &text, &mut new_db) {
            Ok(k) => evals += k,
            Err(e) => failures.extend(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(evals > 0);
    eprintln!("{evals} evaluations passed in {} scripts", files.len());
}
