#!/usr/bin/env bash
# Does the quickstart work on a fresh clone? Clones this checkout's committed HEAD into a temporary
# directory and runs ./run.sh there (it builds its own virtualenv from PyPI, the database and demo data):
#   first run:  serves the sign-in page and starts the job worker, prints one password per built-in role, and that password signs in;
#   second run: serves again, says "Accounts exist already", prints no password, loads no demo data again,
#               and the first run's password still signs in.
# usage: scripts/quickstart_check.sh      (CRM_QUICKSTART_TIMEOUT: seconds allowed per start, default 240)
# Needs python3 (with venv), git, setsid and network access to PyPI. Uncommitted changes are not checked.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
timeout_s="${CRM_QUICKSTART_TIMEOUT:-240}"
roles=(administrator supervisor clerk auditor)
demo_customers=300

work="$(mktemp -d "${TMPDIR:-/tmp}/crm-quickstart.XXXXXX")"
clone="$work/crmadmin"
server_pid=""
log=""

fail() {
  echo "quickstart check FAILED: $*" >&2
  if [ -n "$log" ] && [ -f "$log" ]; then
    echo "---- last 40 lines of $log ----" >&2
    tail -n 40 "$log" >&2
    echo "----" >&2
  fi
  exit 1
}

stop_server() {
  # run.sh was started under setsid, so its pid is also its process group: stop run.sh, flask and all.
  [ -n "$server_pid" ] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM -- "-$server_pid" 2>/dev/null || kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL -- "-$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# exit 0 when the URL answers 200 with the sign-in form
probe_login_page() {
  python3 - "$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as response:
        body = response.read().decode("utf-8", "replace")
        ok = response.status == 200 and 'id="login-form"' in body and 'name="password"' in body
except Exception:
    ok = False
sys.exit(0 if ok else 1)
PY
}

# exit 0 when the user signs in through the form (CSRF token and session cookie included) and lands on /admin, or, for
# the administrator (whose role requires two-factor sign-in, not yet set up on a first sign-in), on its set-up page
check_sign_in() {
  python3 - "$1" "$2" "$3" <<'PY'
import http.cookiejar, re, sys, urllib.parse, urllib.request
base, username, password = sys.argv[1:]
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
page = opener.open(f"{base}/login", timeout=10).read().decode()
token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
if not token:
    sys.exit("no CSRF token on /login")
data = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token.group(1)}).encode()
response = opener.open(f"{base}/login", data=data, timeout=30)
body = response.read().decode()
path = urllib.parse.urlsplit(response.geturl()).path
landed = path.startswith("/admin") or path == "/account/two-factor" and 'id="two-factor-form"' in body
if not (response.status == 200 and landed and 'id="sign-out"' in body):
    sys.exit(f"signing in as {username} did not reach the panel (ended on {path}, status {response.status})")
PY
}

# start_server NAME: ./run.sh of the clone in the background, output in $work/NAME.log; waits until it serves
start_server() {
  local name="$1" port started
  port="$(free_port)"
  log="$work/$name.log"
  base_url="http://127.0.0.1:$port"
  started=$SECONDS
  echo "-- $name: ./run.sh on port $port (log: $log)"
  (
    cd "$clone"
    exec env -u DATABASE_URL -u TEST_DATABASE_URL -u CRM_CONFIG -u CRM_INSTANCE_DIR -u SECRET_KEY \
      -u VIRTUAL_ENV -u FLASK_APP -u PYTHONPATH \
      CRM_HOST=127.0.0.1 CRM_PORT="$port" CRM_DEMO_CUSTOMERS="$demo_customers" setsid ./run.sh
  ) >"$log" 2>&1 </dev/null &
  server_pid=$!
  while ! probe_login_page "$base_url/login"; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      local status=0
      wait "$server_pid" || status=$?
      server_pid=""
      fail "$name: ./run.sh exited with status $status before serving $base_url/login"
    fi
    if [ $((SECONDS - started)) -ge "$timeout_s" ]; then
      fail "$name: $base_url/login did not answer 200 with the sign-in form within $timeout_s s"
    fi
    sleep 1
  done
  echo "   serving the sign-in page after $((SECONDS - started)) s"
}

password_lines() {  # the "  <role>   <password>" lines run.sh printed
  grep -E "^  ($(IFS='|'; echo "${roles[*]}")) +[A-Za-z0-9_-]{8,}$" "$1" || true
}

no_traceback() {
  if grep -q "Traceback (most recent call last)" "$log"; then
    fail "$1: the server log shows a Python traceback"
  fi
}

worker_started() {  # the job worker started by run.sh is consuming the queue
  for _ in $(seq 50); do
    grep -q "Huey consumer started" "$log" && return 0
    sleep 0.2
  done
  fail "$1: the job worker did not start (no 'Huey consumer started' in the log)"
}

total_started=$SECONDS
commit="$(git -C "$repo" rev-parse HEAD)"
git clone --quiet --no-checkout "$repo" "$clone"
git -C "$clone" checkout --quiet --detach "$commit"
echo "== quickstart check of commit ${commit:0:12} in $clone"

# --- first run: everything is built, passwords are printed once -------------------------------------
start_server first-run
grep -q "Serving crmadmin on $base_url" "$log" || fail "first run: no 'Serving crmadmin on $base_url' line"
declare -A password=()
for role in "${roles[@]}"; do
  count="$(password_lines "$log" | grep -cE "^  $role +" || true)"
  [ "$count" = 1 ] || fail "first run: expected one password line for role '$role', found $count"
  password[$role]="$(password_lines "$log" | grep -E "^  $role +" | awk '{print $2}')"
done
grep -q "Loading demo data ($demo_customers customers)" "$log" \
  || fail "first run: it did not load $demo_customers demo customers (CRM_DEMO_CUSTOMERS)"
check_sign_in "$base_url" administrator "${password[administrator]}" \
  || fail "first run: the printed administrator password does not sign in"
no_traceback "first run"
worker_started first-run
echo "   printed one password per role (${roles[*]}); administrator signs in with it; the job worker runs"
stop_server

# --- second run: same database and accounts, nothing printed again ---------------------------------
start_server second-run
grep -q "Accounts exist already" "$log" || fail "second run: no 'Accounts exist already' message"
if [ -n "$(password_lines "$log")" ] || grep -q "Accounts created" "$log"; then
  fail "second run: new passwords were printed"
fi
if grep -q "Loading demo data" "$log"; then
  fail "second run: demo data was loaded again"
fi
check_sign_in "$base_url" administrator "${password[administrator]}" \
  || fail "second run: the first run's administrator password no longer signs in"
no_traceback "second run"
worker_started second-run
echo "   reused the accounts and data; no password printed"
stop_server
log=""

echo "== quickstart check passed in $((SECONDS - total_started)) s"
