"""The hash chain: how an entry's hash is computed, and how the whole log is checked for tampering."""
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select

from ..models import AuditEntry

GENESIS = "0" * 64
# Every column an entry's hash covers, in a fixed order (id and hash itself excepted).
HASHED_FIELDS = ("occurred_at", "batch_id", "actor_id", "actor", "source", "command", "ip", "user_agent",
                 "request_id", "action", "record_type", "record_id", "record_label", "changes", "prev_hash")


def _canonical(value):
    if value is None or isinstance(value, (str, int)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="microseconds")
    return str(value)


def entry_hash(fields: dict) -> str:
    """sha256 over the canonical JSON of the hashed fields, so any edit to any of them changes it."""
    payload = json.dumps([_canonical(fields.get(name)) for name in HASHED_FIELDS], ensure_ascii=False,
                         separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class Verdict:
    ok: bool
    checked: int
    head: str
    problem: str | None = None
    entry_id: int | None = None


def verify(rows, kept_head: str | None = None) -> Verdict:
    """Walk entries in id order; report the first one whose content or link does not hold."""
    previous, checked, seen_kept = GENESIS, 0, kept_head is None
    for row in rows:
        fields = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
        if fields["prev_hash"] != previous:
            return Verdict(False, checked, previous, "its link to the previous entry is broken: an entry before it "
                           "was removed, reordered or altered", fields["id"])
        if entry_hash(fields) != fields["hash"]:
            return Verdict(False, checked, previous, "its content does not match its hash: a field was changed",
                           fields["id"])
        previous = fields["hash"]
        checked += 1
        seen_kept = seen_kept or previous == kept_head
    if not seen_kept:
        return Verdict(False, checked, previous, "the kept head is not in the log: newer entries were cut off", None)
    return Verdict(True, checked, previous)


def chain_rows(connection, batch: int = 1000):
    """Every entry in chain order, streamed, so verifying millions of entries needs little memory."""
    table = AuditEntry.__table__
    return connection.execution_options(yield_per=batch).execute(select(table).order_by(table.c.id))
