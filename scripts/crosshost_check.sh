#!/usr/bin/env bash
# Two "hosts" behind no sticky load balancer: two gunicorns on two ports, one PostgreSQL database, one Redis
# database; then scripts/crosshost_check.py proves that sessions, form tokens, sign-in failure counts and sign-outs
# made on one hold on the other (docs/LOADTEST.md).
#
#   scripts/crosshost_check.sh               # REDIS_URL=redis://127.0.0.1:6379/14 (that Redis database is emptied first)
#   NO_REDIS=1 scripts/crosshost_check.sh    # the same without REDIS_URL: shows what is then per process
#
# It sets fresh passwords on the load-test accounts (scripts/loadtest_setup.py): point it at a load-test database only.
set -euo pipefail
cd "$(dirname "$0")/.."

export DATABASE_URL="${DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1/crm_bench}"
export CRM_CONFIG=production SESSION_COOKIE_SECURE=0
export SECRET_KEY="${SECRET_KEY:-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(32))')}"  # one key, as every host must share
OUT="${OUT:-/tmp/crm-loadtest}"
mkdir -p "$OUT"
if [ "${NO_REDIS:-0}" = 1 ]; then
  unset REDIS_URL
else
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/14}"
  # a clean slate for this check's own Redis database: the lockout it makes lasts 15 minutes
  .venv/bin/python -c "import os, redis; redis.Redis.from_url(os.environ['REDIS_URL']).flushdb()"
fi
[ -x .venv-load/bin/python ] || { echo "run scripts/loadtest.sh once first (it makes .venv-load)" >&2; exit 1; }
.venv/bin/python scripts/loadtest_setup.py --users 5 --out "$OUT/crosshost.json"

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT_A=$(free_port) PORT_B=$(free_port)
PIDS=()
stop() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done; }
trap stop EXIT
for port in "$PORT_A" "$PORT_B"; do
  .venv/bin/gunicorn --workers 2 --timeout 120 --bind "127.0.0.1:$port" --error-logfile "$OUT/crosshost-$port.log" app:app &
  PIDS+=($!)
done
for port in "$PORT_A" "$PORT_B"; do
  for _ in $(seq 1 60); do
    .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/login', timeout=2)" 2>/dev/null && break
    sleep 1
  done
done
echo "host A: 127.0.0.1:$PORT_A, host B: 127.0.0.1:$PORT_B; REDIS_URL=${REDIS_URL:-unset}"
status=0
.venv-load/bin/python scripts/crosshost_check.py "http://127.0.0.1:$PORT_A" "http://127.0.0.1:$PORT_B" \
  --data "$OUT/crosshost.json" || status=$?
if [ -n "${REDIS_URL:-}" ]; then
  echo "Redis keys the two hosts share:"
  .venv/bin/python -c "
import os, redis
r = redis.Redis.from_url(os.environ['REDIS_URL'])
for key in sorted(r.scan_iter(count=1000)):
    print('  ', key.decode(errors='replace'))"
fi
exit $status
