"""The hash chain: how an entry's hash is computed, and how the whole log is checked for tampering.

An entry's hash does not cover its label and changes as they are, but a commitment to each of their values: an
HMAC of the value under a key derived from the entry's random `seal`. Erasing a person's data replaces a value by a
marker, keeps the value's commitment in `erasure` and destroys the seal (the keys of the values that stay are kept),
so the chain still verifies while the erased value can no longer be recovered, not even by trying every phone number.
"""
import hashlib
import hmac
import json
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select

from ..models import AuditEntry

GENESIS = "0" * 64
ERASED = "(erased)"  # what an erased value reads as, in the label and the changes
# Every column an entry's hash covers, in a fixed order (id and hash itself excepted).
HASHED_FIELDS = ("occurred_at", "batch_id", "actor_id", "actor", "source", "command", "ip", "user_agent",
                 "request_id", "action", "record_type", "record_id", "record_label", "changes", "prev_hash")
SEALED_FIELDS = ("record_label", "changes")  # covered through the commitments to their values


def _canonical(value):
    if value is None or isinstance(value, (str, int)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="microseconds")
    return str(value)


# The encoders json.dumps would build on each call with these options (the same output): entry_hash runs for every
# log entry, a few dozen values each, and an import appends a hundred thousand entries.
_DUMP = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode
_PATH = json.JSONEncoder(ensure_ascii=False).encode
LABEL_PATH = json.dumps(["label"])
TEXT_PATH = json.dumps(["changes", "text"])


def _dump(value) -> str:
    return _DUMP(value)


@lru_cache(maxsize=4096)
def _path(steps: tuple) -> str:
    """A value's place as JSON text; the same few places recur in every entry."""
    return _PATH(list(steps))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.digest(key, text.encode(), "sha256")  # hmac.new(...).digest(), in one call


def leaf_key(seal: str, path: str) -> str:
    """The key of one value of an entry: derived from the entry's seal and the value's place in it."""
    return _hmac(bytes.fromhex(seal), path).hex()


def commitment(key: str, value) -> str:
    return _hmac(bytes.fromhex(key), _dump(value)).hex()


def leaves(field: str, text):
    """(path, value) of every value of a label or a changes document; a path names the value's place."""
    if text is None:
        return ()
    if field == "record_label":
        return [(LABEL_PATH, text)]
    try:
        document = json.loads(text)
    except ValueError:  # not JSON (only a tampered entry has such changes): the whole text is one value
        return [(TEXT_PATH, text)]
    return _leaves_of(document)


def _leaves_of(document) -> list:
    found = []
    _walk(document, ("changes",), found)
    return [(_path(steps), value) for steps, value in found]


def _walk(node, path: tuple, found: list) -> None:
    if isinstance(node, dict):
        for key in sorted(node):
            _walk(node[key], (*path, key), found)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _walk(item, (*path, index), found)
    else:
        found.append((path, node))


def _shape(node):
    """The document with its values taken out: the hash covers its structure too."""
    if isinstance(node, dict):
        return {key: _shape(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_shape(item) for item in node]
    return None


def _parsed(field: str, text):
    """(shape, leaves) of a label or a changes text, parsing the JSON once."""
    if text is None:
        return None, ()
    if field == "record_label":
        return None, [(LABEL_PATH, text)]
    try:
        document = json.loads(text)
    except ValueError:
        return "text", [(TEXT_PATH, text)]
    return _shape(document), _leaves_of(document)


def sealed_digest(fields: dict) -> list:
    """What the hash covers of the label and changes: their shape and the commitment to every value."""
    seal = fields.get("seal")
    try:
        erasure = json.loads(fields.get("erasure") or "{}")
        keys, erased = erasure.get("keys", {}), erasure.get("erased", {})
    except (ValueError, AttributeError):  # a forged erasure record: no value can be vouched for
        seal, keys, erased = None, {}, {}
    sealed = None  # read on its first use, as leaf_key did: a seal that is no hex fails only where it is used
    digest = []
    for field in SEALED_FIELDS:
        text = fields.get(field)
        shape, found = _parsed(field, text)
        commitments = []
        for path, value in found:
            if path in erased:
                commitments.append(erased[path] if value == ERASED else "altered")
            elif path in keys:
                commitments.append(commitment(keys[path], value))
            elif seal:
                sealed = sealed or hmac.new(bytes.fromhex(seal), digestmod=hashlib.sha256)
                leaf = sealed.copy()  # leaf_key(seal, path), the seal's HMAC state computed once per entry
                leaf.update(path.encode())
                commitments.append(_hmac(leaf.digest(), _dump(value)).hex())  # commitment(leaf_key(...), value)
            else:
                commitments.append("unsealed")
        digest.append([text is None, shape, commitments])
    return digest


def entry_hash(fields: dict) -> str:
    """sha256 over the canonical JSON of the hashed fields, so any edit to any of them changes it."""
    values = [_canonical(fields.get(name)) for name in HASHED_FIELDS if name not in SEALED_FIELDS]
    payload = _dump([values, sealed_digest(fields)])
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
