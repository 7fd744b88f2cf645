"""Match keys (customer_match): each customer's phone, e-mail, name, company and address reduced to what makes two
files the same person, kept current by a session event so duplicate detection can GROUP BY an index.

- phone: E.164 (`phonenumbers`, national numbers read in CRM_PHONE_REGION): "138 1234 5678" = "+86 13812345678".
- e-mail: trimmed, lower case.
- name: how it sounds. Chinese characters become toneless pinyin (`pypinyin`), so the commonest typing slip, a
  homophone picked from the input method (王小明 / 王晓明), gives the same key; Latin names are case-folded, stripped
  of accents and punctuation and their words sorted ("Wang, Wei" = "wei wang"). Keys are compared by `rapidfuzz`.
- company and address: letters and digits only, case-folded (full-width and half-width alike, NFKC).

Like the standing, the rows are written with Core statements after each flush (derived, not logged); customers
loaded in bulk outside the session (demo data) are filled by `fill_missing`.
"""
import os
import unicodedata
from functools import lru_cache

from flask import current_app, has_app_context
from sqlalchemy import delete, event, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from . import planner
from .bulk_insert import insert_rows
from .models import Customer, CustomerMatch
from .models.matching import KEY_CHARS
from .phones import e164

os.environ.setdefault("PYPINYIN_NO_PHRASES", "true")  # names are read a character at a time: no phrase dictionary
from pypinyin import Style, lazy_pinyin  # noqa: E402

MATCH = CustomerMatch.__table__
CUSTOMER = Customer.__table__
SOURCE_FIELDS = ("name", "mobile", "email", "company_name", "address")
FILL_CHUNK = 5_000


def region() -> str:
    return current_app.config.get("CRM_PHONE_REGION", "CN") if has_app_context() else "CN"


def phone_key(value: str | None, default_region: str = "CN") -> str | None:
    """E.164 of a possible phone number, else None (two unreadable numbers are not the same number)."""
    if not value or not value.strip():
        return None
    return e164(value, default_region, strict=False)


def email_key(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value[:254] or None


def _is_han(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" or "\U00020000" <= char <= "\U0002ebef"


@lru_cache(maxsize=32_768)
def _syllable(char: str) -> str:
    """Toneless pinyin of one character (its commonest reading: the same on both sides of a comparison)."""
    return lazy_pinyin(char, style=Style.NORMAL)[0]


def _words(value: str) -> list[tuple[bool, str]]:
    """(is Chinese, word) in order: each Chinese character a word of its own, Latin letters and digits grouped."""
    text = unicodedata.normalize("NFKC", value).casefold()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    words, latin = [], []
    for char in text:
        if _is_han(char):
            if latin:
                words.append((False, "".join(latin)))
                latin = []
            words.append((True, _syllable(char)))
        elif char.isalnum():
            latin.append(char)
        elif latin:
            words.append((False, "".join(latin)))
            latin = []
    if latin:
        words.append((False, "".join(latin)))
    return words


def name_key(value: str | None) -> str | None:
    """Pinyin of a Chinese name in order (surname first); a Latin name's words sorted; joined without spaces."""
    words = _words(value or "")
    if not words:
        return None
    if any(chinese for chinese, _word in words):
        key = "".join(word for _chinese, word in words)
    else:
        key = "".join(sorted(word for _chinese, word in words))
    return key[:KEY_CHARS]


def place_key(value: str | None) -> str | None:
    """A company or address as its letters and digits, case-folded: spacing and punctuation make no difference."""
    text = unicodedata.normalize("NFKC", value or "").casefold()
    key = "".join(c for c in text if c.isalnum())
    return key[:KEY_CHARS] or None


def keys_for(customer_id: int, name, mobile, email, company_name, address, default_region: str) -> dict:
    return {"customer_id": customer_id, "phone": phone_key(mobile, default_region), "email": email_key(email),
            "name": name_key(name), "company": place_key(company_name), "address": place_key(address)}


def store(connection: Connection, rows: list[dict]) -> None:
    """Replace the keys of these customers."""
    if not rows:
        return
    connection.execute(delete(MATCH).where(MATCH.c.customer_id.in_([r["customer_id"] for r in rows])))
    insert_rows(connection, MATCH, rows)


def _after_flush(session: Session, flush_context) -> None:
    rows = []
    new, deleted = session.new, session.deleted  # each a new set: read once, not once per object (imports)
    for obj in (*new, *session.dirty):
        if not isinstance(obj, Customer) or obj in deleted or obj.id is None:
            continue
        state = inspect(obj)
        if obj in new or any(state.attrs[f].history.has_changes() for f in SOURCE_FIELDS):
            rows.append(keys_for(obj.id, obj.name, obj.mobile, obj.email, obj.company_name, obj.address, region()))
    store(session.connection(), rows)


def fill_missing(connection: Connection, progress=None) -> int:
    """Compute the keys of customers that have none (loaded in bulk outside the session); returns how many."""
    done, after = 0, 0
    code = region()
    while True:
        batch = connection.execute(
            select(CUSTOMER.c.id, CUSTOMER.c.name, CUSTOMER.c.mobile, CUSTOMER.c.email, CUSTOMER.c.company_name,
                   CUSTOMER.c.address)
            .where(CUSTOMER.c.id > after,
                   ~select(MATCH.c.customer_id).where(MATCH.c.customer_id == CUSTOMER.c.id).exists())
            .order_by(CUSTOMER.c.id).limit(FILL_CHUNK)).all()
        if not batch:
            planner.analyze_grown(connection, {MATCH: done})
            return done
        insert_rows(connection, MATCH, [keys_for(*row, code) for row in batch])
        done += len(batch)
        after = batch[-1][0]
        if progress:
            progress(done)


def listen() -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
