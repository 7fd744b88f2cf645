# Sourced by run.sh and test.sh: a virtualenv inside the repo, reinstalled only when requirements change.
# usage: ensure_venv requirements.txt|requirements-dev.txt
ensure_venv() {
  local req="$1" py="${PYTHON:-python3}"
  if [ ! -x .venv/bin/python ]; then
    echo "Creating the virtualenv in .venv ..."
    "$py" -m venv .venv
  fi
  local stamp=".venv/.installed-$(basename "$req")"
  local digest
  digest=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "Installing dependencies from $req ..."
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$digest" > "$stamp"
  fi
}
