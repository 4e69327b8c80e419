#!/usr/bin/env bash
# Builds everything renkei needs and starts the demo: portal + provider node + requester node on
# loopback, with the real NTA files converted by the WASM plugin into ./renkei-data/.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --no-browser
scripts/build-plugins.sh
scripts/build-ui.sh
cargo build --locked -p renkei
exec "${CARGO_TARGET_DIR:-target}/debug/renkei" demo --data-dir renkei-data "$@"
