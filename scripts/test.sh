#!/usr/bin/env bash
# Installs what the test suite needs on a fresh machine, then runs every test:
# the Rust workspace (unit, crate and end-to-end tests) and the browser tests of the UI.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

need_pkgs=()
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
[ -x /usr/bin/prometheus ] || need_pkgs+=(prometheus)                       # reference for differential tests, remote-write receiver
[ -x /usr/bin/victoria-metrics ] || need_pkgs+=(victoria-metrics)           # remote-write receiver for the forwarding tests
[ -x /usr/bin/prometheus-node-exporter ] || need_pkgs+=(prometheus-node-exporter) # a real scrape target
[ -x /usr/bin/prometheus-alertmanager ] || need_pkgs+=(prometheus-alertmanager)     # a real alert receiver
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "==> installing ${need_pkgs[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
fi

# The OpenTelemetry Python SDK, a real OTLP client for tests/e2e/otel_sdk.rs, in a venv under
# the target directory (skipped when already there with every package importable).
target_dir="${CARGO_TARGET_DIR:-target}"
otel_venv="$target_dir/otel-venv"
otel_pkgs=(opentelemetry-sdk opentelemetry-exporter-otlp-proto-http opentelemetry-exporter-otlp-proto-grpc)
if ! "$otel_venv/bin/python" -c 'import opentelemetry.sdk.metrics, opentelemetry.exporter.otlp.proto.http.metric_exporter, opentelemetry.exporter.otlp.proto.grpc.metric_exporter' 2>/dev/null; then
  echo "==> installing ${otel_pkgs[*]} into $otel_venv"
  command -v python3 >/dev/null || { as_root apt-get update -qq; DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends python3 python3-venv; }
  mkdir -p "$target_dir"
  if ! python3 -m venv "$otel_venv"; then  # Debian splits venv/ensurepip out of python3
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends python3-venv
    python3 -m venv "$otel_venv"
  fi
  "$otel_venv/bin/pip" install --quiet --disable-pip-version-check "${otel_pkgs[@]}"
fi
export SEXTANT_OTEL_PYTHON="$(cd "$otel_venv/bin" && pwd)/python"

echo "==> cargo test --workspace"
cargo test --workspace --no-fail-fast

# Fuzz smoke: 20 s of every cargo-fuzz target, only where nightly and cargo-fuzz are installed
# (the committed fuzz inputs are replayed on stable by `cargo test --test fuzz_replay` above).
if cargo +nightly --version >/dev/null 2>&1 && cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "==> fuzz smoke (20 s per target)"
  for t in $(cargo +nightly fuzz list); do
    work="$(mktemp -d)"
    cargo +nightly fuzz run "$t" "$work" "fuzz/corpus/$t" -- -max_total_time=20 -rss_limit_mb=2048 -timeout=10 \
      || { echo "fuzz target $t failed (input in fuzz/artifacts/$t)"; exit 1; }
    rm -rf "$work"
  done
else
  echo "==> fuzz smoke skipped: needs the nightly toolchain and cargo-fuzz (cargo install cargo-fuzz)"
fi

if [ -x tests/ui/run.sh ]; then
  echo "==> browser tests"
  cargo build --bin sextant
  SEXTANT_BIN="${CARGO_TARGET_DIR:-target}/debug/sextant" bash tests/ui/run.sh
fi
echo "==> all tests passed"
