#!/bin/bash
# Start this machine's PostgreSQL cluster (Debian's postgresql package) and make sure the
# test role and database exist; print the database URL the server suites rerun against.
# Used by `make test` (when DIGIBENCH_TEST_POSTGRES_URL is not set) and `.ci/run`. Root only.
set -euo pipefail
fail() { echo "digibench test-postgres: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root to start PostgreSQL; or set DIGIBENCH_TEST_POSTGRES_URL"
command -v pg_lsclusters >/dev/null || fail "PostgreSQL is not installed (make setup)"
read -r version cluster port _ < <(pg_lsclusters --no-header | head -n 1) \
    || fail "no PostgreSQL cluster (pg_createcluster)"
[ -n "${cluster:-}" ] || fail "no PostgreSQL cluster (pg_createcluster)"
pg_ctlcluster "$version" "$cluster" start >/dev/null 2>&1 || true
for _ in $(seq 60); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 1; done
pg_isready -q -h 127.0.0.1 -p "$port" || fail "PostgreSQL $version/$cluster did not start"
su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -q" >/dev/null <<'SQL'
SELECT 'CREATE ROLE digibench LOGIN CREATEDB PASSWORD ''digibench'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'digibench')\gexec
SELECT 'CREATE DATABASE digibench OWNER digibench'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'digibench')\gexec
SQL
echo "postgresql://digibench:digibench@127.0.0.1:$port/digibench"
