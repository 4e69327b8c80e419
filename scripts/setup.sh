#!/usr/bin/env bash
# Installs what building and testing renkei needs and a fresh machine lacks; does nothing when present.
set -euo pipefail
cd "$(dirname "$0")/.."
# --no-browser: only what building and running needs (the demo), not the test tools (Chromium, PostgreSQL).
browser=yes
[ "${1:-}" = "--no-browser" ] && browser=no

installed_targets=$(rustup target list --installed)
for target in wasm32-wasip2 wasm32-unknown-unknown; do
  grep -qx "$target" <<<"$installed_targets" || rustup target add "$target"
done

[ "$browser" = yes ] || exit 0

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Noto CJK: the pages are Japanese; without it screenshots show empty boxes.
    apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  else
    echo "setup: Chromium is missing; install Debian's package: sudo apt-get install chromium" >&2
    exit 1
  fi
fi

# PostgreSQL: the storage tests and one main-job run use a real server (scripts/postgres.sh starts it).
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
  else
    echo "setup: PostgreSQL is missing; install Debian's package: sudo apt-get install postgresql" >&2
    exit 1
  fi
fi

if [ ! -d end2end/node_modules/playwright-core ]; then
  (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
fi
