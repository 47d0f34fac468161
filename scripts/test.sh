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

echo "==> cargo test --workspace"
cargo test --workspace --no-fail-fast

if [ -x tests/ui/run.sh ]; then
  echo "==> browser tests"
  cargo build --bin sextant
  SEXTANT_BIN="${CARGO_TARGET_DIR:-target}/debug/sextant" bash tests/ui/run.sh
fi
echo "==> all tests passed"
