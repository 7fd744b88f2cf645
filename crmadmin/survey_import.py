"""Survey answers from a CSV file (`flask crm import-surveys`): every row checked first, then all stored or none.

The file has a header row. Columns: one or more of `customer_id`, `mobile`, `email` to find the customer (the
first given is used, in that order), then `kind` (nps or csat), `score`, `date` (YYYY-MM-DD, the day answered),
`channel` (phone, email, visit, social_media, online_chat, event) and optionally `comment`. Answers are added
through the session, so each one is in the operation log, as one batch for the command.

An answer already stored (same customer, kind, score, date, channel and comment), or given twice in the file, is
an error: importing the same file twice stores it once. `skip_existing` skips the stored ones instead, to load a
file that grew since it was last imported.
"""
import csv
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import choices
from .models import Customer, SurveyResponse
from .models.survey import SCORE_RANGES
from .phones import e164

KEYS = ("customer_id", "mobile", "email")
REQUIRED = ("kind", "score", "date", "channel")
COLUMNS = KEYS + REQUIRED + ("comment",)
COMMENT_MAX = 5000
LOOKUP_CHUNK = 500  # values per IN (...) when finding customers and stored answers


@dataclass
class Result:
    """What an import found: the answers to store, the rows that are wrong (line number, message), those skipped."""

    responses: list[SurveyResponse] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def _chunks(values: list, size: int = LOOKUP_CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


_mobile = e164  # the number as customers' files store it (E.164), or None if it is not a phone number


def _customers(session: Session, column, values: set) -> dict:
    """value -> customer ids having it (several when the value is not unique), for one identifying column."""
    found: dict = {}
    key = func.lower(column) if column is Customer.email else column
    for chunk in _chunks(sorted(values)):
        for value, customer_id in session.execute(select(key, Customer.id).where(key.in_(chunk))):
            found.setdefault(value, []).append(customer_id)
    return found


def _parse(row: dict, today: date, region: str) -> tuple[tuple | None, dict, list[str]]:
    """(how to find the customer, the answer's values, the problems) of one row."""
    problems = []
    given = [(name, (row.get(name) or "").strip()) for name in KEYS if (row.get(name) or "").strip()]
    who = None
    if not given:
        problems.append("no customer: give customer_id, mobile or email")
    else:
        name, text = given[0]
        if name == "customer_id":
            who = ("customer_id", int(text)) if text.isdigit() else None
        elif name == "mobile":
            number = _mobile(text, region)
            who = ("mobile", number) if number else None
        else:
            who = ("email", text.lower())
        if who is None:
            problems.append(f"{name} {text!r} is not valid")

    kind = (row.get("kind") or "").strip().lower()
    if kind not in SCORE_RANGES:
        problems.append(f"kind {row.get('kind') or ''!r} is not nps or csat")
    score_text = (row.get("score") or "").strip()
    score = int(score_text) if score_text.lstrip("-").isdigit() else None
    if score is None:
        problems.append(f"score {score_text!r} is not a whole number")
    elif kind in SCORE_RANGES and not SCORE_RANGES[kind][0] <= score <= SCORE_RANGES[kind][1]:
        low, high = SCORE_RANGES[kind]
        problems.append(f"a {kind.upper()} score is from {low} to {high}, not {score}")
    answered = None
    try:
        answered = date.fromisoformat((row.get("date") or "").strip())
    except ValueError:
        problems.append(f"date {row.get('date') or ''!r} is not a date like 2026-03-31")
    if answered is not None and answered > today:
        problems.append(f"date {answered} is in the future")
    channel = (row.get("channel") or "").strip().lower()
    if channel not in choices.CONTACT_CHANNEL.values:
        problems.append(f"channel {row.get('channel') or ''!r} is not one of {', '.join(choices.CONTACT_CHANNEL)}")
    comment = (row.get("comment") or "").strip() or None
    if comment is not None and len(comment) > COMMENT_MAX:
        problems.append(f"comment longer than {COMMENT_MAX} characters")
    return who, {"kind": kind, "score": score, "answered_on": answered, "channel": channel, "comment": comment}, \
        problems


def _answer_key(customer_id: int, values: dict) -> tuple:
    return (customer_id, values["kind"], values["score"], values["answered_on"], values["channel"], values["comment"])


def _stored(session: Session, customer_ids: set[int]) -> set[tuple]:
    """The answers already stored for these customers, as answer keys."""
    r = SurveyResponse
    found = set()
    for chunk in _chunks(sorted(customer_ids)):
        for row in session.execute(select(r.customer_id, r.kind, r.score, r.answered_on, r.channel, r.comment)
                                   .where(r.customer_id.in_(chunk))):
            found.add(tuple(row))
    return found


def read(session: Session, stream: IO[str], today: date, region: str = "CN", skip_existing: bool = False) -> Result:
    """Check every row of the file; the answers come back unsaved, and only if no row has an error."""
    result = Result()
    reader = csv.DictReader(stream)
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in COLUMNS]
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing or not set(KEYS) & set(header):
        problems = ([f"unknown columns: {', '.join(unknown)}"] if unknown else []) + \
                   ([f"missing columns: {', '.join(missing)}"] if missing else []) + \
                   ([] if set(KEYS) & set(header) else ["no customer column: customer_id, mobile or email"])
        result.errors.append((1, "; ".join(problems) + f" (expected {', '.join(COLUMNS)})"))
        return result
    reader.fieldnames = header

    parsed = []
    for row in reader:
        line = reader.line_num
        if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
            continue  # a blank line
        who, values, problems = _parse(row, today, region)
        if None in row:  # DictReader keeps values beyond the header under None
            problems.append(f"{len(row[None])} more values than columns")
        parsed.append((line, who, values, problems))

    wanted: dict[str, set] = {name: set() for name in KEYS}
    for _line, who, _values, _problems in parsed:
        if who is not None:
            wanted[who[0]].add(who[1])
    columns = {"customer_id": Customer.id, "mobile": Customer.mobile, "email": Customer.email}
    found = {name: _customers(session, columns[name], values) if values else {} for name, values in wanted.items()}
    customer_ids = {ids[0] for by_value in found.values() for ids in by_value.values() if len(ids) == 1}
    stored = _stored(session, customer_ids)

    seen: dict[tuple, int] = {}
    for line, who, values, problems in parsed:
        customer_id = None
        if who is not None:
            ids = found[who[0]].get(who[1], [])
            if not ids:
                problems.append(f"no customer with {who[0]} {who[1]}")
            elif len(ids) > 1:
                problems.append(f"{len(ids)} customers have {who[0]} {who[1]}: give the customer_id")
            else:
                customer_id = ids[0]
        if customer_id is not None and not problems:
            key = _answer_key(customer_id, values)
            if key in seen:
                problems.append(f"the same answer as line {seen[key]}")
            elif key in stored:
                if skip_existing:
                    result.skipped.append(line)
                    continue
                problems.append("this answer is stored already (use --skip-existing to skip such rows)")
            seen.setdefault(key, line)
        if problems:
            result.errors.append((line, "; ".join(problems)))
        else:
            result.responses.append(SurveyResponse(customer_id=customer_id, **values))
    if result.errors:
        result.responses = []
    return result
