#!/usr/bin/env bash
# Starts a fresh demo on spare ports, runs the Playwright journeys in end2end/ against it, stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

data_dir=${E2E_DATA_DIR:-target/e2e-data}
portal_port=${E2E_PORTAL_PORT:-3300}
requester_port=${E2E_REQUESTER_PORT:-8301}
provider_port=${E2E_PROVIDER_PORT:-8302}
rm -rf "$data_dir"
cargo build --locked -p renkei
log=target/e2e-demo.log
# The journeys check the environment banner and the mail-subject prefix; set it empty to skip.
export RENKEI_ENVIRONMENT="${RENKEI_ENVIRONMENT-外部接続環境}"
"${CARGO_TARGET_DIR:-target}/debug/renkei" demo --data-dir "$data_dir" --portal-port "$portal_port" --requester-port "$requester_port" --provider-port "$provider_port" >"$log" 2>&1 &
demo_pid=$!
trap 'kill $demo_pid 2>/dev/null || true; wait $demo_pid 2>/dev/null || true' EXIT

for _ in $(seq 1 240); do
  [ -f "$data_dir/demo.json" ] && break
  if ! kill -0 $demo_pid 2>/dev/null; then
    echo "e2e: the demo exited early:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.5
done
[ -f "$data_dir/demo.json" ] || { echo "e2e: the demo did not start within 120 s" >&2; cat "$log" >&2; exit 1; }

RENKEI_DEMO_JSON="$PWD/$data_dir/demo.json" node --test "${@:-end2end/tests/}"
