#!/usr/bin/env bash
# Browser tests of Sextant's embedded UI: installs what they need and runs them.
#   - Debian's chromium (apt, when missing and running as root), playwright-core from package-lock.json;
#   - the sextant binary: $SEXTANT_BIN, else ${CARGO_TARGET_DIR:-target}/debug/sextant (built when missing).
# Screenshots land in tests/ui/artifacts/. UI_BACKEND=prometheus runs against Debian's prometheus instead
# (development aid, see harness.mjs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "tests/ui: Debian's chromium is needed (apt-get install chromium)" >&2
    exit 1
  fi
fi

if [ "${UI_BACKEND:-sextant}" = sextant ] && [ -z "${SEXTANT_BIN:-}" ]; then
  # the UI is embedded at compile time: (re)build so the binary serves the current web/ui
  (cd "$repo" && cargo build --quiet --bin sextant)
  # copy it at once: a target directory shared with other work trees may get another build
  snapshot="$(mktemp -d)"
  trap 'rm -rf "$snapshot"' EXIT
  cp "${CARGO_TARGET_DIR:-$repo/target}/debug/sextant" "$snapshot/sextant"
  export SEXTANT_BIN="$snapshot/sextant"
fi

# a relative SEXTANT_BIN is relative to where we were called from
case "${SEXTANT_BIN:-}" in
  ''|/*) ;;
  *) export SEXTANT_BIN="$PWD/$SEXTANT_BIN" ;;
esac

cd "$here"
npm ci --no-audit --no-fund --loglevel=error
node --test --test-concurrency=1 logic.test.mjs grafana.test.mjs ui.test.mjs demo.test.mjs onboarding.test.mjs sextant.test.mjs
