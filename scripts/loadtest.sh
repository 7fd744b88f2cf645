#!/usr/bin/env bash
# Production load test (docs/LOADTEST.md): gunicorn with several workers on PostgreSQL and Redis, locust headless on
# loopback for a bounded time, then requests per second and p50/p95/p99 per request type and overall.
#
#   scripts/loadtest.sh                 # 50 users, spawn 10/s, 2 minutes, 4 workers, crm_bench, Redis db 13
#   USERS=50 RUN_TIME=3m WORKERS=4 scripts/loadtest.sh
#
# Environment (all optional): DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1/crm_bench),
# REDIS_URL (default redis://127.0.0.1:6379/13), WORKERS (4), USERS (50), SPAWN_RATE (10), RUN_TIME (2m),
# PORT (a free one), OUT (/tmp/crm-loadtest), SKIP_UPGRADE=1 to skip `flask db upgrade`,
# SEARCH_KINDS (name,mobile,email: what the search terms are taken from), THINK_TIME (0.5-2: seconds between tasks),
# RESET_STATS=1 to leave the ramp-up (every user's sign-in) out of the client-side figures.
# It sets fresh passwords on the load-test accounts (scripts/loadtest_setup.py): point it at a load-test database only.
set -euo pipefail
cd "$(dirname "$0")/.."

export DATABASE_URL="${DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1/crm_bench}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/13}"
export CRM_CONFIG=production
export SESSION_COOKIE_SECURE=0   # plain HTTP on loopback: a Secure cookie would never be sent back
export SECRET_KEY="${SECRET_KEY:-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(32))')}"
WORKERS="${WORKERS:-4}" USERS="${USERS:-50}" SPAWN_RATE="${SPAWN_RATE:-10}" RUN_TIME="${RUN_TIME:-2m}"
OUT="${OUT:-/tmp/crm-loadtest}"
PORT="${PORT:-$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
mkdir -p "$OUT"
rm -f "$OUT/access.log"

# CPU seconds used so far: the whole machine, this gunicorn (master and workers), the PostgreSQL backends of this
# database; taken before and after the run, so the report can say who had the 2 cores (others' jobs included).
cpu_snapshot() {
  .venv/bin/python - "$1" "$GUNICORN" "${DATABASE_URL##*/}" <<'PY'
import json, os, sys
out, master, dbname = sys.argv[1], sys.argv[2], sys.argv[3]
tick = os.sysconf("SC_CLK_TCK")
def stat(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / tick  # ppid, utime + stime
gunicorn = postgres = 0.0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        ppid, used = stat(pid)
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        continue
    if pid == master or str(ppid) == master:
        gunicorn += used
    elif cmd.startswith("postgres:") and f" {dbname} " in cmd:
        postgres += used
cpu = open("/proc/stat").readline().split()[1:]
busy = (sum(map(int, cpu)) - int(cpu[3]) - int(cpu[4])) / tick  # all but idle and iowait
json.dump({"gunicorn": gunicorn, "postgres": postgres, "busy": busy}, open(out, "w"))
PY
}

# locust lives in its own virtualenv, never in .venv (its pins: load-requirements.txt)
if [ ! -x .venv-load/bin/locust ] || [ load-requirements.txt -nt .venv-load/.installed ]; then
  echo "Installing locust into .venv-load ..."
  python3 -m venv .venv-load
  .venv-load/bin/python -m pip install --quiet --disable-pip-version-check -r load-requirements.txt
  touch .venv-load/.installed
fi

if [ "${SKIP_UPGRADE:-0}" != 1 ]; then
  .venv/bin/flask --app app db upgrade
fi
.venv/bin/python scripts/loadtest_setup.py --users "$USERS" --out "$OUT/data.json" \
  --search-kinds "${SEARCH_KINDS:-name,mobile,email}"

echo "Starting gunicorn: $WORKERS workers on 127.0.0.1:$PORT ($DATABASE_URL, $REDIS_URL)"
.venv/bin/gunicorn --workers "$WORKERS" --timeout 120 --bind "127.0.0.1:$PORT" \
  --access-logfile "$OUT/access.log" --access-logformat '%(m)s|%(U)s|%(q)s|%(s)s|%(D)s' \
  --error-logfile "$OUT/gunicorn.log" app:app &
GUNICORN=$!
stop_gunicorn() { kill "$GUNICORN" 2>/dev/null && wait "$GUNICORN" 2>/dev/null || true; }
trap stop_gunicorn EXIT
for _ in $(seq 1 60); do
  if .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/login', timeout=2)" 2>/dev/null; then
    break
  fi
  kill -0 "$GUNICORN" 2>/dev/null || { echo "gunicorn exited; see $OUT/gunicorn.log" >&2; exit 1; }
  sleep 1
done

cpu_snapshot "$OUT/cpu-before.json"
echo "Running locust: $USERS users, spawn rate $SPAWN_RATE/s, for $RUN_TIME; $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
LOADTEST_DATA="$OUT/data.json" timeout 900 /usr/bin/env time -f "%e %U %S" -o "$OUT/locust-cpu.txt" .venv-load/bin/locust -f scripts/loadtest.py --headless \
  --host "http://127.0.0.1:$PORT" --users "$USERS" --spawn-rate "$SPAWN_RATE" --run-time "$RUN_TIME" \
  --stop-timeout 10 --csv "$OUT/run" --html "$OUT/report.html" --only-summary --loglevel WARNING \
  ${RESET_STATS:+--reset-stats} \
  > "$OUT/locust.log" 2>&1 || true   # locust exits 1 when any request failed; the table below says which
cpu_snapshot "$OUT/cpu-after.json"
echo "Load average after (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
stop_gunicorn
trap - EXIT

.venv-load/bin/python - "$OUT" <<'EOF'
import collections, csv, json, os, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/run_stats.csv")))
print("\n| Request | Requests | Failures | RPS | p50 ms | p95 ms | p99 ms | max ms |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    name = r["Name"] if r["Name"] != "Aggregated" else "**all requests**"
    print(f"| {name} | {r['Request Count']} | {r['Failure Count']} | {float(r['Requests/s']):.1f} | {r['50%']} | "
          f"{r['95%']} | {r['99%']} | {float(r['Max Response Time']):.0f} |")
failures = list(csv.DictReader(open(f"{out}/run_failures.csv")))
print("\nFailures:" if failures else "\nFailures: none")
for f in failures:
    print(f"  {f['Occurrences']} x {f['Method']} {f['Name']}: {f['Error']}")
exceptions = list(csv.DictReader(open(f"{out}/run_exceptions.csv")))
print("Errors in the load test's own code: " + ("none" if not exceptions else ""))
for e in exceptions:
    print(f"  {e['Count']} x {e['Message']} ({e['Traceback'].strip().splitlines()[-1] if e['Traceback'] else ''})")
# server-side time per request (gunicorn's %(D)s, microseconds): what the app took, without locust's share of the CPU
def kind(method, path, query):
    """The request type of the locust table, from what gunicorn logged."""
    if path == "/admin/customer/":
        return ("customer search" if "search=" in query else "customer list, filtered by region" if "flt" in query
                else "customer list, page 1")
    if path == "/admin/customer/edit/":
        return "customer edit form" if method == "GET" else "customer edit (POST)"
    return {"/admin/transaction/": "transaction list, page 1", "/admin/customer/details/": "customer details",
            "/admin/": "dashboard", "/login": "sign-in form" if method == "GET" else "sign-in (POST)"}.get(path, path)
times = collections.defaultdict(list)
for line in open(f"{out}/access.log"):
    parts = line.strip().split("|")
    if len(parts) == 5:
        times[kind(*parts[:3])].append(int(parts[4]) / 1000)
times["**all requests**"] = [t for v in list(times.values()) for t in v]
q = lambda v, p: v[min(len(v) - 1, int(p * len(v)))]
print("\nServer side: the time each request spent in its gunicorn worker (access log %(D)s), without the wait for a "
      "free worker\n\n| Request | Requests | p50 ms | p95 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|")
for name in sorted(times, key=lambda n: (n.startswith("**"), n)):
    v = sorted(times[name])
    print(f"| {name} | {len(v)} | {q(v, .5):.0f} | {q(v, .95):.0f} | {q(v, .99):.0f} | {v[-1]:.0f} |")
before, after = (json.load(open(f"{out}/cpu-{n}.json")) for n in ("before", "after"))
wall, user, system = map(float, open(f"{out}/locust-cpu.txt").read().split()[-3:])
used = {k: after[k] - before[k] for k in after}
share = lambda seconds: f"{seconds:.0f} CPU-s ({seconds / wall:.2f} cores)"
print(f"\nCPU over the {wall:.0f} s run ({os.cpu_count()} cores, {os.cpu_count() * wall:.0f} CPU-s): machine busy "
      f"{share(used['busy'])}; gunicorn {share(used['gunicorn'])}; PostgreSQL backends of this database "
      f"{share(used['postgres'])}; locust {share(user + system)}; everything else "
      f"{share(used['busy'] - used['gunicorn'] - used['postgres'] - user - system)}")
print(f"\nFiles: {out}/run_stats.csv, run_failures.csv, report.html, access.log, gunicorn.log, locust.log")
EOF
