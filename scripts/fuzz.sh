#!/usr/bin/env bash
# Coverage-guided fuzzing on the stable toolchain: builds fuzz/ with LLVM's SanitizerCoverage
# (the same instrumentation cargo-fuzz uses, without a sanitizer, so no nightly is needed) and
# runs libFuzzer on each target.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Defaults: 20 s, every target in fuzz/fuzz_targets/. Each target's growing corpus lives in
# $FUZZ_WORK/<target> (default target/fuzz-work), seeded from fuzz/corpus/<target>; a crashing,
# hanging or memory-hungry input is written to $FUZZ_WORK/artifacts/<target>/ and the script
# stops with its path (copy it to fuzz/regressions/<target>/ with the fix). One line per run is
# appended to $FUZZ_WORK/runs.log: date, target, wall seconds, CPU seconds, executions.
# FUZZ_TIMEOUT (default 10) is libFuzzer's per-input wall-clock timeout in seconds: raise it
# when the fuzzers may be paused (SIGSTOP while a benchmark needs the machine), or a pause
# is reported as a hang.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-20}"
shift || true
triple="$(rustc -vV | sed -n 's/^host: //p')"
target_dir="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/fuzz}"
work="${FUZZ_WORK:-${CARGO_TARGET_DIR:-target}/fuzz-work}"
mkdir -p "$work/artifacts"

export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# --target keeps the instrumentation off build scripts and proc macros.
cargo build --release --manifest-path fuzz/Cargo.toml --target "$triple" --target-dir "$target_dir"
bin="$target_dir/$triple/release"

if [ "$#" -eq 0 ]; then
  set -- $(ls fuzz/fuzz_targets | sed 's/\.rs$//')
fi
for t in "$@"; do
  mkdir -p "$work/$t" "$work/artifacts/$t"
  log="$work/$t.last.log"
  start=$(date +%s)
  # Python's getrusage gives the fuzzer's CPU seconds (user + system), which under load is
  # less than its wall time.
  status=0
  python3 - "$work/$t.cpu" "$bin/$t" "$work/$t" "fuzz/corpus/$t" -max_total_time="$secs" \
      -rss_limit_mb=2048 -timeout="${FUZZ_TIMEOUT:-10}" -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/$t/" >"$log" 2>&1 <<'PY' || status=$?
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(f"{u.ru_utime + u.ru_stime:.1f}\n")
sys.exit(code)
PY
  end=$(date +%s)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cpu=$(cat "$work/$t.cpu" 2>/dev/null || echo 0)
  echo "$(date -u +%FT%TZ) $t wall=$((end - start))s cpu=${cpu}s execs=${execs:-0} status=$status" >>"$work/runs.log"
  if [ "$status" -ne 0 ]; then
    echo "fuzz target $t failed (status $status); input in $work/artifacts/$t/, log $log"
    tail -30 "$log"
    exit 1
  fi
  echo "fuzz $t: ${execs:-0} executions in $((end - start)) s (${cpu} CPU s), nothing found"
done
