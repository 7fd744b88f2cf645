#!/usr/bin/env bash
# Run the panel on an embedded SQLite database with demo data: http://127.0.0.1:5000
# First run: installs dependencies, builds the database from the migrations, creates one
# account per built-in role (passwords printed once) and loads demo data. Later runs reuse it all.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
ensure_venv requirements.txt
export FLASK_APP=app.py
.venv/bin/flask db upgrade
.venv/bin/flask crm bootstrap --demo-customers "${CRM_DEMO_CUSTOMERS:-2000}" --locale "${CRM_DEMO_LOCALE:-zh_CN}"
echo "Serving crmadmin on http://${CRM_HOST:-127.0.0.1}:${CRM_PORT:-5000}  (Ctrl+C to stop)"
exec .venv/bin/flask run --host "${CRM_HOST:-127.0.0.1}" --port "${CRM_PORT:-5000}" --no-reload
