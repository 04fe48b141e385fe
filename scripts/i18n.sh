#!/usr/bin/env bash
# Extract every translatable string (Python and Jinja2) and merge it into the fr/de/it/en catalogs.
# Sorted, without source locations: parallel branches merge without conflicts (docs/i18n.md).
set -euo pipefail
cd "$(dirname "$0")/.."
B=.venv/bin/pybabel
L=backend/noxus/locale
mkdir -p "$L"
$B -q extract -F babel.cfg --sort-output --no-location --no-wrap --omit-header \
  -k lazy_gettext -k translate_in:2 -k pgettext:1c,2 -o "$L/messages.pot" .
for lang in fr de it en; do
  if [ -f "$L/$lang/LC_MESSAGES/messages.po" ]; then
    $B -q update --no-wrap --ignore-obsolete --no-fuzzy-matching --ignore-pot-creation-date -l "$lang" -i "$L/messages.pot" -d "$L"
  else
    $B -q init --no-wrap -l "$lang" -i "$L/messages.pot" -d "$L"
  fi
done
# English is the source language: its catalog says so explicitly (msgstr = msgid), so a missing
# English entry is as visible to tests/test_i18n.py as a missing French or German one.
.venv/bin/python - "$L/en/LC_MESSAGES/messages.po" <<'PY'
import sys
from babel.messages.pofile import read_po, write_po
path = sys.argv[1]
with open(path, "rb") as f:
    cat = read_po(f, locale="en")
for m in cat:
    if not m.id:
        continue
    if isinstance(m.id, tuple):
        if not all(m.string):
            m.string = m.id
    elif not m.string:
        m.string = m.id
with open(path, "wb") as f:
    write_po(f, cat, width=0, sort_output=True, omit_header=False)
PY
