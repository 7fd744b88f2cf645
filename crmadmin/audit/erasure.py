"""Erasing a person's values from the operation log, so that the chain still verifies (see chain.py)."""
import json
import re

from sqlalchemy import or_, select, text, update

from ..models import AuditEntry
from ..phones import FULL_WIDTH_DIGITS, SEPARATORS, Written
from ..search import escape_like
from .chain import ERASED, commitment, leaf_key, leaves


def _contains_any(value, needles: list[str]) -> bool:
    return isinstance(value, str) and any(needle in value.casefold() for needle in needles)


def _loosely(digits: str) -> str:
    """A regular expression (Python's and PostgreSQL's alike) that every written form of these digits matches, in a
    label or inside the JSON of `changes` (a line break between two groups stands there as \\n): a first look."""
    gap = "[" + re.escape(SEPARATORS + "\\nrt") + "]{0,8}"
    return gap.join(f"[{digit}{FULL_WIDTH_DIGITS[int(digit)]}]" for digit in digits)


def _candidates(connection, needles: list[str], record: tuple[str, str], phones: Written | None):
    """The record's own entries, and every entry whose label or changes mention one of the values, or may hold one
    of the phone numbers written in some form (`_scrubbed` decides)."""
    table = AuditEntry.__table__
    mentions = []
    for digits in phones.digits if phones else ():
        mentions += [table.c.record_label.regexp_match(_loosely(digits)),
                     table.c.changes.regexp_match(_loosely(digits))]
    for needle in needles:
        escaped = json.dumps(needle, ensure_ascii=False)[1:-1]  # as it stands inside the JSON of `changes`
        mentions += [table.c.record_label.ilike(f"%{escape_like(needle)}%", escape="\\"),
                     table.c.changes.ilike(f"%{escape_like(escaped)}%", escape="\\")]
    own = (table.c.record_type == record[0]) & (table.c.record_id == record[1])
    return connection.execute(select(table).where(or_(own, *mentions)).order_by(table.c.id)).mappings().all()


def _erase_paths(document, paths: set[str], path=("changes",)):
    """The changes document with the values at `paths` replaced by the erased marker."""
    if isinstance(document, dict):
        return {key: _erase_paths(value, paths, (*path, key)) for key, value in document.items()}
    if isinstance(document, list):
        return [_erase_paths(item, paths, (*path, index)) for index, item in enumerate(document)]
    return ERASED if json.dumps(list(path), ensure_ascii=False) in paths else document


def _scrubbed(row, needles: list[str], own_fields: set[str], record: tuple[str, str],
              phones: Written | None) -> dict | None:
    """The entry's new label, changes and erasure record, or None if it holds none of the person's values."""
    own = (row["record_type"], row["record_id"]) == record
    erasure = json.loads(row["erasure"] or "{}")
    keys, erased = dict(erasure.get("keys", {})), dict(erasure.get("erased", {}))
    found = {}
    for field in ("record_label", "changes"):
        for path, value in leaves(field, row[field]):
            if path in erased:
                continue
            steps = json.loads(path)
            personal = own and (field == "record_label" or (len(steps) > 1 and steps[1] in own_fields))
            key = keys.get(path) or leaf_key(row["seal"], path)
            if personal or _contains_any(value, needles) or (phones and phones.search(value)):
                found[path] = commitment(key, value)
            else:
                keys[path] = key
    if not found:
        return None
    for path in found:
        keys.pop(path, None)
    erased.update(found)
    changes = row["changes"]
    if changes is not None:
        try:
            changes = json.dumps(_erase_paths(json.loads(changes), set(found)), ensure_ascii=False, sort_keys=True)
        except ValueError:
            changes = ERASED
    label = ERASED if json.dumps(["label"]) in found else row["record_label"]
    return {"record_label": label, "changes": changes, "seal": None,
            "erasure": json.dumps({"keys": keys, "erased": erased}, sort_keys=True)}


def scrub(connection, values, record: tuple[str, str], own_fields, phones: Written | None = None) -> int:
    """Erase `values` wherever the log holds them, the `phones` in any written form, and every value of `own_fields`
    logged for `record`.

    The seal of each entry touched is destroyed, so an erased value cannot be recomputed from its commitment;
    PostgreSQL's append-only trigger lets exactly this update through while `crm.erasing` is set.
    """
    needles = sorted({value.strip().casefold() for value in values if value and len(value.strip()) >= 2})
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT set_config('crm.erasing', 'on', true)"))
    table, done = AuditEntry.__table__, 0
    for row in _candidates(connection, needles, record, phones):
        new = _scrubbed(row, needles, set(own_fields), record, phones)
        if new is not None:
            connection.execute(update(table).where(table.c.id == row["id"]).values(**new))
            done += 1
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT set_config('crm.erasing', 'off', true)"))
    return done
