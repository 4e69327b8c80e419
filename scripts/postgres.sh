#!/usr/bin/env bash
# Starts the local PostgreSQL server for the tests when it is not running, creates the test role (its random
# password generated at the first run, kept outside the repository), drops idle test databases that earlier
# runs left behind, and prints the server's URL:
#   postgres://renkei_test:<password>@127.0.0.1:5432
# Tests create their own database under it (renkei_test_<id>) and drop it. Idempotent; needs root (or the
# postgres user) and Debian's postgresql package (scripts/setup.sh installs it).
set -euo pipefail

role=renkei_test
as_postgres() { if [ "$(id -un)" = postgres ]; then "$@"; else su postgres -c "$(printf '%q ' "$@")"; fi; }

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "postgres.sh: PostgreSQL is not installed (apt-get install -y postgresql, or scripts/setup.sh as root)" >&2
  exit 1
fi
# The first cluster Debian created (version and name), e.g. "15 main".
read -r version cluster port status _ < <(pg_lsclusters --no-header | head -n1) || {
  echo "postgres.sh: no PostgreSQL cluster exists (pg_createcluster)" >&2
  exit 1
}
if [ "$status" != online ]; then
  # The package's own service start is blocked on these machines; pg_ctlcluster starts the server itself.
  pg_ctlcluster "$version" "$cluster" start >&2
fi
for _ in $(seq 50); do
  as_postgres pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.2
done

# Generated once per machine, never committed; kept stable so test runs in parallel share it.
password_file=${RENKEI_TEST_POSTGRES_PASSWORD_FILE:-/var/lib/postgresql/renkei-test.password}
if [ ! -s "$password_file" ]; then
  (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | cut -c1-32 >"$password_file")
fi
password=$(cat "$password_file")
as_postgres psql -v ON_ERROR_STOP=1 -q -p "$port" -d postgres >/dev/null <<SQL
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN CREATEDB;
  END IF;
END\$\$;
ALTER ROLE $role WITH LOGIN CREATEDB PASSWORD '$password';
SQL
# Databases of earlier runs whose process ended before dropping them (a killed test binary, or the one
# shared demo of the main-job suite). One still in use by a running test refuses the drop and stays.
for db in $(as_postgres psql -At -p "$port" -d postgres -c \
  "SELECT datname FROM pg_database WHERE datname LIKE 'renkei\_test\_%'"); do
  as_postgres psql -q -p "$port" -d postgres -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
done

echo "postgres://$role:$password@127.0.0.1:$port"
