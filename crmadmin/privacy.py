"""A customer's personal data requests: correct it, or erase it everywhere while keeping the figures it feeds."""
import json
import re
from dataclasses import dataclass

import phonenumbers
from sqlalchemy import Enum, String, Text, select
from sqlalchemy.orm import Session

from .audit import log_event
from .audit.chain import ERASED
from .audit.context import current_actor
from .audit.erasure import scrub
from .files import store as file_store
from .jobs import records as jobs
from .imports.store import forget
from . import list_prefs
from .merge import MOVED
from .models import AuditEntry, Complaint, ComplaintStep, Customer, PersonalDataRequest, utcnow
from .phones import Written

# What identifies the person: erased, and looked for in every log entry and in the free text of their records.
IDENTIFYING = ("name", "mobile", "email", "address")
# What else is personal: erased from the customer and from the customer's own log entries.
PERSONAL = IDENTIFYING + ("gender", "birthday", "position", "preferences", "interests", "needs", "notes")
MASK = "***"


@dataclass
class Erasure:
    fields: list[str]
    records: int  # related records whose free text mentioned the person
    log_entries: int


def personal_fields(customer: Customer) -> list[str]:
    """The fields an erasure empties: a person's company name names them too; a company's is the business."""
    return list(PERSONAL) + (["company_name"] if customer.kind == "person" else [])


def _identifying(customer: Customer) -> list[str]:
    return list(IDENTIFYING) + (["company_name"] if customer.kind == "person" else [])


def _values(session: Session, customer: Customer, fields: list[str]) -> set[str]:
    """Every value the fields have had: now, and before and after each logged change of the customer."""
    found = {getattr(customer, field) for field in fields}
    for changes in session.scalars(select(AuditEntry.changes).where(AuditEntry.record_type == "customer",
                                                                    AuditEntry.record_id == str(customer.id))):
        try:
            document = json.loads(changes or "{}")
        except ValueError:
            continue
        if isinstance(document, dict):
            for field in fields:
                pair = document.get(field)
                if isinstance(pair, list):
                    found.update(pair)
    values = {str(value).strip() for value in found if value not in (None, "", ERASED)}
    for value in list(values):
        if value.startswith("+"):  # a number in E.164 is also written in its national form
            try:
                values.add(str(phonenumbers.parse(value).national_number))
            except phonenumbers.NumberParseException:
                pass
    return {value for value in values if len(value) >= 2}


def _related_rows(session: Session, customer: Customer):
    """Every record that belongs to the customer (those a merge moves), and the steps of their complaints; derived
    rows (standing, match keys) are recomputed from the erased file instead."""
    for (_table, column), model in MOVED.items():
        if column == "customer_id":
            yield from session.scalars(select(model).where(model.customer_id == customer.id))
    complaints = select(Complaint.id).where(Complaint.customer_id == customer.id)
    yield from session.scalars(select(ComplaintStep).where(ComplaintStep.complaint_id.in_(complaints)))


def _mask(text: str, values: list[str], phones: Written) -> str:
    text = phones.mask(text, MASK)  # first, so that "+86 139 1234 5678" goes whole, not around a masked "13912345678"
    if not values:
        return text
    pattern = re.compile("|".join(re.escape(value) for value in sorted(values, key=len, reverse=True)), re.IGNORECASE)
    return pattern.sub(MASK, text)


def _holds(text: str, values: set[str], phones: Written) -> bool:
    folded = text.casefold()
    return any(value.casefold() in folded for value in values) or phones.search(text)


def _mask_free_text(session: Session, customer: Customer, values: set[str], phones: Written) -> int:
    """Mask the person's values (their phone numbers in any written form) inside the free text of their records;
    the records themselves stay."""
    changed = 0
    for row in _related_rows(session, customer):
        touched = False
        for column in row.__table__.c:
            if not isinstance(column.type, (String, Text)) or isinstance(column.type, Enum) or column.foreign_keys:
                continue
            value = getattr(row, column.key, None)
            if isinstance(value, str) and _holds(value, values, phones):
                setattr(row, column.key, _mask(value, list(values), phones))
                touched = True
        changed += touched
    return changed


def erase(session: Session, customer: Customer, request: PersonalDataRequest, region: str,
          files_dir=None) -> Erasure:
    """Anonymise the customer, their free text and every log entry that holds their data, in the caller's transaction.

    Purchases, contacts and complaints stay, so tiers, revenue and rates still count them; undo cannot bring it back.
    A number written without +country is read in `region` (CRM_PHONE_REGION). The files attached to the customer and
    to their complaints are deleted, from `files_dir` (CRM_FILES_DIR) once this is committed.
    """
    fields = personal_fields(customer)
    values = _values(session, customer, _identifying(customer))
    phones = Written(_values(session, customer, ["mobile"]), region)
    request.kind, request.fields, request.customer = "erasure", ",".join(fields), customer
    request.batch_id = current_actor().batch_id
    session.add(request)
    records = _mask_free_text(session, customer, values, phones)
    for field in fields:
        setattr(customer, field, ERASED if field == "name" else None)
    customer.erased_at = utcnow()
    session.flush()  # the erasure's own entries hold the values as they were: scrubbed with the rest below
    entries = scrub(session.connection(), values, ("customer", str(customer.id)), fields, phones)
    files = forget(session.connection(), lambda text: _holds(text, values, phones),
                   lambda text: _mask(text, list(values), phones))
    attached = file_store.erase_customer(session, customer.id, files_dir)
    exports = jobs.forget(session, lambda text: _holds(text, values, phones),
                          lambda text: _mask(text, list(values), phones), jobs.files_folder())
    list_prefs.forget(session.connection(), lambda text: _holds(text, values, phones),
                      lambda text: _mask(text, list(values), phones))
    log_event(session, "personal_data_erased", customer, {"fields": fields, "records": records,
                                                          "log_entries": entries, "import_files": files,
                                                          "attached_files": attached, "export_files": exports,
                                                          "request": request.id})
    return Erasure(fields, records, entries)


def correct(session: Session, customer: Customer, values: dict, request: PersonalDataRequest) -> list[str]:
    """Apply the corrected values with the request that asked for them; returns the fields that changed."""
    changed = [field for field, value in values.items() if getattr(customer, field) != value]
    for field in changed:
        setattr(customer, field, values[field])
    if changed:
        request.kind, request.fields, request.customer = "correction", ",".join(changed), customer
        request.batch_id = current_actor().batch_id
        session.add(request)
        session.flush()
    return changed
