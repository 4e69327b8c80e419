#!/usr/bin/env bash
# Runs every test of renkei: unit and integration tests (Rust), the plugin tests, the sandbox tests with
# fixture guests, and the browser journey in real Chromium against a running demo.
# Installs what a fresh machine lacks (rustup targets, Debian chromium, npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build-plugins.sh
scripts/build-ui.sh

echo "== cargo test (workspace default members)"
cargo test --locked
echo "== cargo test (nta-corporate-number plugin, native)"
cargo test --locked -p nta-corporate-number

echo "== browser journey (end2end/)"
scripts/e2e.sh
