#!/usr/bin/env bash
# Runs every test of renkei: unit and integration tests (Rust), the plugin tests, the sandbox tests with
# fixture guests, and the browser journey in real Chromium against a running demo.
# Installs what a fresh machine lacks (rustup targets, Debian chromium, npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."

phase() { echo "== [$(date +%T), ${SECONDS}s] $*"; }

phase "setup"
scripts/setup.sh
phase "guest plugins (wasm32-wasip2)"
scripts/build-plugins.sh
phase "browser bundle (wasm32-unknown-unknown)"
scripts/build-ui.sh

phase "cargo test (workspace default members)"
cargo test --locked
phase "cargo test (converter plugins, native)"
cargo test --locked -p nta-corporate-number -p converter-template

phase "browser journey (end2end/)"
scripts/e2e.sh
phase "all tests passed"
