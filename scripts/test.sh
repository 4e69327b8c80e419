#!/usr/bin/env bash
# Runs every test of renkei: unit and integration tests (Rust), the plugin tests, the sandbox tests with
# fixture guests, and the browser journey in real Chromium against a running demo.
# Installs what a fresh machine lacks (rustup targets, Debian chromium and postgresql, npm packages).
# Storage tests run on SQLite and on a local PostgreSQL server (scripts/postgres.sh starts it).
set -euo pipefail
cd "$(dirname "$0")/.."

phase() { echo "== [$(date +%T), ${SECONDS}s] $*"; }

phase "setup"
scripts/setup.sh
phase "guest plugins (wasm32-wasip2)"
scripts/build-plugins.sh
phase "browser bundle (wasm32-unknown-unknown)"
scripts/build-ui.sh

phase "PostgreSQL (scripts/postgres.sh)"
if postgres_url=$(scripts/postgres.sh); then
  export RENKEI_TEST_POSTGRES_URL=$postgres_url
elif [ "${CI:-}" = true ]; then
  echo "test.sh: CI needs PostgreSQL for the storage tests" >&2
  exit 1
else
  echo "test.sh: no PostgreSQL server; its test variants are skipped" >&2
fi

phase "cargo test (workspace default members)"
cargo test --locked
if [ -n "${RENKEI_TEST_POSTGRES_URL:-}" ]; then
  phase "cargo test (main-job and consent suites with the portal and both nodes on PostgreSQL)"
  RENKEI_TEST_MAIN_JOB_BACKEND=postgres cargo test --locked -p renkei-tests --test main_job --test consent
fi
phase "cargo test (main-job suite with every listener on TLS)"
RENKEI_TEST_MAIN_JOB_TLS=1 cargo test --locked -p renkei-tests --test main_job
phase "cargo test (converter plugins, native)"
cargo test --locked -p nta-corporate-number -p converter-template

phase "browser journey (end2end/)"
scripts/e2e.sh
phase "all tests passed"
