#!/usr/bin/env bash
# Run the whole test suite on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set
# (that database is wiped). Extra arguments go to pytest, e.g. ./test.sh -k customers -x
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
ensure_venv requirements-dev.txt
pg_url="${TEST_DATABASE_URL:-}"
echo "== test suite on SQLite =="
env -u TEST_DATABASE_URL .venv/bin/python -m pytest "$@"
if [ -n "$pg_url" ]; then
  echo "== test suite on PostgreSQL ($pg_url) =="
  TEST_DATABASE_URL="$pg_url" .venv/bin/python -m pytest -m "not browser" "$@"
fi
