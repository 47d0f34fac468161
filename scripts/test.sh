#!/usr/bin/env bash
# Installs what the test suite needs on a fresh machine, then runs every test:
# the Rust workspace (unit, crate and end-to-end tests) and the browser tests of the UI.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

# Debian's prometheus, prometheus-alertmanager, prometheus-node-exporter and victoria-metrics
# packages start and enable a service on install (:9090, :9093, :9100, :8428); the tests only run
# the binaries on ports of their own, and a service left on :9090 would make `cargo run` fail.
# So a policy-rc.d that refuses every start is in place for the length of the install (only
# when none exists: Docker images ship one, and it stays untouched), and on a systemd host the
# units of the packages installed here are then disabled and stopped. Services of packages
# that were already installed are left alone.
policy_rc=/usr/sbin/policy-rc.d
policy_rc_created=0
remove_policy_rc() {
  if [ "$policy_rc_created" = 1 ]; then
    as_root rm -f "$policy_rc"
    policy_rc_created=0
  fi
}
block_service_starts() {
  [ -e "$policy_rc" ] && return 0
  trap remove_policy_rc EXIT
  trap 'remove_policy_rc; exit 130' INT
  trap 'remove_policy_rc; exit 143' TERM
  policy_rc_created=1
  printf '#!/bin/sh\n# Written by sextant scripts/test.sh during apt-get install, removed after it.\nexit 101\n' \
    | as_root tee "$policy_rc" >/dev/null
  as_root chmod 755 "$policy_rc"
}
runs_systemd() { command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; }
disable_services() {  # $@: the packages just installed
  runs_systemd || return 0
  local pkg
  for pkg in "$@"; do
    case "$pkg" in
      prometheus | prometheus-alertmanager | prometheus-node-exporter | victoria-metrics)
        as_root systemctl disable --now "$pkg.service" >/dev/null 2>&1 || true ;;
    esac
  done
}
install_debs() {  # $@: Debian packages; no service of theirs is left running or enabled
  echo "==> installing $*"
  block_service_starts
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@"
  remove_policy_rc
  disable_services "$@"
}
# (end of the install helpers)

need_pkgs=()
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
[ -x /usr/bin/prometheus ] || need_pkgs+=(prometheus)                       # reference for differential tests, remote-write receiver
[ -x /usr/bin/victoria-metrics ] || need_pkgs+=(victoria-metrics)           # remote-write receiver for the forwarding tests
[ -x /usr/bin/prometheus-node-exporter ] || need_pkgs+=(prometheus-node-exporter) # a real scrape target
[ -x /usr/bin/prometheus-alertmanager ] || need_pkgs+=(prometheus-alertmanager)     # a real alert receiver
command -v g++ >/dev/null 2>&1 || need_pkgs+=(g++)                          # libFuzzer (C++) for the fuzz smoke
if [ ${#need_pkgs[@]} -gt 0 ]; then
  install_debs "${need_pkgs[@]}"
fi

# The OpenTelemetry Python SDK, a real OTLP client for tests/e2e/otel_sdk.rs, in a venv under
# the target directory (skipped when already there with every package importable).
target_dir="${CARGO_TARGET_DIR:-target}"
otel_venv="$target_dir/otel-venv"
otel_pkgs=(opentelemetry-sdk opentelemetry-exporter-otlp-proto-http opentelemetry-exporter-otlp-proto-grpc)
if ! "$otel_venv/bin/python" -c 'import opentelemetry.sdk.metrics, opentelemetry.exporter.otlp.proto.http.metric_exporter, opentelemetry.exporter.otlp.proto.grpc.metric_exporter' 2>/dev/null; then
  echo "==> installing ${otel_pkgs[*]} into $otel_venv"
  command -v python3 >/dev/null || install_debs python3 python3-venv
  mkdir -p "$target_dir"
  if ! python3 -m venv "$otel_venv"; then  # Debian splits venv/ensurepip out of python3
    install_debs python3-venv
    python3 -m venv "$otel_venv"
  fi
  "$otel_venv/bin/pip" install --quiet --disable-pip-version-check "${otel_pkgs[@]}"
fi
SEXTANT_OTEL_PYTHON="$(cd "$otel_venv/bin" && pwd)/python"
export SEXTANT_OTEL_PYTHON

echo "==> cargo test --workspace"
cargo test --workspace --no-fail-fast

# Fuzz smoke: 10 s of every fuzz target, coverage-guided libFuzzer built on stable (see
# scripts/fuzz.sh); the committed inputs are also replayed by `cargo test --test e2e fuzz_replay`.
echo "==> fuzz smoke (10 s per target)"
FUZZ_WORK="$(mktemp -d)" scripts/fuzz.sh 10

if [ -x tests/ui/run.sh ]; then
  echo "==> browser tests"
  cargo build --bin sextant
  SEXTANT_BIN="${CARGO_TARGET_DIR:-target}/debug/sextant" bash tests/ui/run.sh
fi
echo "==> all tests passed"
