#!/usr/bin/env bash
# Run the panel on an embedded SQLite database with demo data: http://127.0.0.1:5000
# First run: installs dependencies, builds the database from the migrations, creates one
# account per built-in role (passwords printed once) and loads demo data. Later runs reuse it all.
# The job worker (the daily refresh at 00:05; queue in instance/jobs.sqlite3) runs alongside, and stops with the server.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
ensure_venv requirements.txt
export FLASK_APP=app.py
.venv/bin/flask db upgrade
.venv/bin/flask crm bootstrap --demo-customers "${CRM_DEMO_CUSTOMERS:-2000}" --locale "${CRM_DEMO_LOCALE:-zh_CN}"
.venv/bin/flask crm worker &
worker=$!
trap 'kill -TERM "$worker" 2>/dev/null; wait "$worker" 2>/dev/null || true' EXIT  # finishes its running job first
echo "Serving crmadmin on http://${CRM_HOST:-127.0.0.1}:${CRM_PORT:-5000}  (Ctrl+C to stop)"
.venv/bin/flask run --host "${CRM_HOST:-127.0.0.1}" --port "${CRM_PORT:-5000}" --no-reload
