#!/usr/bin/env bash
# Refresh the translation catalogs after changing user-visible strings:
#   1. extract every marked string of crmadmin/ (Python and templates) into messages.pot,
#   2. merge it into each language's messages.po (created on first run),
#   3. compile the .po files into the .mo files the app loads (both are committed).
# Then translate the new, empty msgstr entries and run this script again.
# tests/test_i18n.py fails while any string lacks a translation or a .mo is stale.
set -euo pipefail
cd "$(dirname "$0")/.."

PYBABEL=".venv/bin/pybabel"
[ -x "$PYBABEL" ] || PYBABEL="pybabel"
TRANSLATIONS="crmadmin/translations"
POT="$TRANSLATIONS/messages.pot"
LOCALES=(zh_CN)
# Flask-Babel looks a catalog up by Babel's full locale name: "zh_CN" parses as zh_Hans_CN, so a
# catalog only under zh_CN/ would never be found. The alias is a committed symlink to the real one.
declare -A ALIASES=([zh_CN]=zh_Hans_CN)
# keep in step with KEYWORDS in tests/test_i18n.py (the default keywords _, gettext, ngettext... come on top)
KEYWORDS=(-k _l -k lazy_gettext -k "lazy_ngettext:1,2" -k "lazy_pgettext:1c,2")

new_pot="$(mktemp)"
trap 'rm -f "$new_pot"' EXIT

# The input is the repository root so babel.cfg's patterns (crmadmin/...) match; only crmadmin/ is
# mapped, and hidden or underscore directories (.venv, __pycache__) are not even walked.
"$PYBABEL" -q extract -F babel.cfg "${KEYWORDS[@]}" \
    --ignore-dirs ".* _* instance migrations tests docs scripts" \
    --no-location --sort-output --no-wrap \
    --project crmadmin --copyright-holder "crmadmin" \
    -o "$new_pot" .

# A run that finds the same strings leaves the committed files untouched (no date-only diffs).
strip_date() { grep -v '^"POT-Creation-Date: ' "$1"; }
if [ -f "$POT" ] && cmp -s <(strip_date "$POT") <(strip_date "$new_pot"); then
  echo "messages.pot: no new or changed strings"
else
  cat "$new_pot" > "$POT"
  echo "messages.pot: updated"
fi

for locale in "${LOCALES[@]}"; do
  po="$TRANSLATIONS/$locale/LC_MESSAGES/messages.po"
  if [ -f "$po" ]; then
    "$PYBABEL" -q update -i "$POT" -d "$TRANSLATIONS" -l "$locale" --no-wrap --ignore-obsolete
  else
    "$PYBABEL" -q init -i "$POT" -d "$TRANSLATIONS" -l "$locale" --no-wrap
  fi
  "$PYBABEL" compile -d "$TRANSLATIONS" -l "$locale" --statistics
  alias="${ALIASES[$locale]:-}"
  if [ -n "$alias" ] && [ "$(readlink "$TRANSLATIONS/$alias" || true)" != "$locale" ]; then
    ln -sfn "$locale" "$TRANSLATIONS/$alias"
    echo "linked $TRANSLATIONS/$alias -> $locale"
  fi
done
