"""The operation log read by people: field-by-field changes, links to records, and each record's History section."""
import json
import re
from datetime import datetime

from flask import url_for
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import false

from .. import choices
from ..auth.permissions import BUILTIN_ROLES, perm, permission_choices
from ..extensions import db
from ..localtime import format_local
from ..models import AuditEntry
from ..queries import own_customer_entries, record_history
from ..labels import DETAIL_LABELS, LABELS

HISTORY_ROWS = 50
LOG_ENDPOINT = "auditentry"
ROW_ACTIONS = ("create", "update", "delete")  # entries whose `changes` are {field: [before, after]}
SECRET_MARKERS = {"(secret)": lambda: _("(secret)"), "(changed)": lambda: _("(changed)")}

# record_type (a table name) -> the screen that shows such a record
RECORD_ENDPOINTS = {"customer": "customer", "transaction": "transaction", "interaction": "interaction",
                    "complaint": "complaint", "campaign": "campaign", "campaign_participant": "campaignparticipant",
                    "user": "user", "role": "role"}
RECORD_ENDPOINTS["survey_response"] = "survey"
# (record_type, field) -> the choices whose label is shown instead of the stored value
FIELD_CHOICES = {
    ("customer", "kind"): choices.CUSTOMER_KIND, ("customer", "gender"): choices.GENDER,
    ("customer", "company_size"): choices.COMPANY_SIZE, ("customer", "source"): choices.SOURCE,
    ("customer", "credit_rating"): choices.CREDIT_RATING, ("customer", "lifecycle_stage"): choices.LIFECYCLE_STAGE,
    ("customer", "value_tier"): choices.VALUE_TIER,
    ("transaction", "status"): choices.TRANSACTION_STATUS, ("transaction", "channel"): choices.SALES_CHANNEL,
    ("interaction", "channel"): choices.CONTACT_CHANNEL, ("interaction", "direction"): choices.DIRECTION,
    ("complaint", "channel"): choices.CONTACT_CHANNEL, ("complaint", "type"): choices.COMPLAINT_TYPE,
    ("complaint", "severity"): choices.COMPLAINT_SEVERITY, ("complaint", "urgency"): choices.COMPLAINT_URGENCY,
    ("complaint", "status"): choices.COMPLAINT_STATUS,
    ("campaign", "type"): choices.CAMPAIGN_TYPE, ("campaign", "channel"): choices.CONTACT_CHANNEL,
    ("campaign", "status"): choices.CAMPAIGN_STATUS,
    ("campaign_participant", "response"): choices.PARTICIPANT_RESPONSE,
}
FIELD_CHOICES.update({("survey_response", "kind"): choices.SURVEY_KIND,
                      ("survey_response", "channel"): choices.CONTACT_CHANNEL})


class FieldNames:
    """A comma-separated list of field names ("mobile,email"), read as their labels."""

    @staticmethod
    def label(value):
        return ", ".join(str(LABELS.get(name.strip(), name.strip())) for name in str(value).split(","))


class Lookup:
    """Stored values read through a table of labels made per request (labels in the reader's language)."""

    def __init__(self, labels):
        self.labels = labels

    def label(self, value):
        return self.labels().get(value, value)


class BuiltinText:
    """A built-in role's description as sync-roles stored it (the English text), read in the reader's language."""

    @staticmethod
    def label(value):
        with force_locale("en"):
            stored = {str(description) for description, _permissions, _own in BUILTIN_ROLES.values()}
        return _(value) if value in stored else value


FIELD_CHOICES.update({
    ("role", "name"): choices.BUILTIN_ROLE, ("role", "description"): BuiltinText,
    ("role", "permissions"): Lookup(lambda: dict(permission_choices())), ("user", "roles"): choices.BUILTIN_ROLE,
    ("complaint_step", "move"): choices.COMPLAINT_MOVE, ("complaint_step", "from_status"): choices.COMPLAINT_STATUS,
    ("complaint_step", "to_status"): choices.COMPLAINT_STATUS,
    ("personal_data_request", "kind"): choices.PERSONAL_DATA_REQUEST,
    ("personal_data_request", "channel"): choices.CONTACT_CHANNEL, ("personal_data_request", "fields"): FieldNames,
    ("user", "locale"): choices.LANGUAGE,
})
# (record_type, field) -> the label where the shared one (LABELS) means something else for that record
FIELD_LABELS = {("survey_response", "kind"): _l("Survey type"), ("personal_data_request", "kind"): _l("Request"),
                ("personal_data_request", "note"): _l("Note"), ("complaint_step", "note"): _l("Note"),
                ("complaint_step", "actor_id"): _l("Made by (ID)"), ("complaint_step", "at"): _l("Time"),
                ("complaint_step", "complaint_id"): _l("Complaint ID")}


def _screens() -> dict:
    """endpoint ("customer.create_view" or "customer") -> the screen's name, for the log's refusals and exports."""
    from flask_admin.helpers import get_current_view

    view = get_current_view()
    return {v.endpoint: str(v.name) for v in view.admin._views} if view is not None else {}


def _import_kinds() -> dict:
    from ..imports.mapping import KIND_LABELS  # not at the top: crmadmin.imports reads labels from this package

    return KIND_LABELS


class Screen:
    @staticmethod
    def label(value):
        return _screens().get(str(value).split(".")[0], value)


# an event's detail -> how its stored value reads
DETAIL_VALUES = {
    "endpoint": Screen, "screen": Screen, "kind": Lookup(_import_kinds), "fields": FieldNames,
    "what": Lookup(lambda: {"demo data": _("Demo data"), "campaign targets": _("Campaign targets")}),
    "mode": Lookup(lambda: {"create": _("Create only"), "update": _("Create and update")}),
    "format": Lookup(lambda: {"csv": "CSV", "xlsx": "Excel (XLSX)"}),
    "second_factor": Lookup(lambda: {"authenticator": _("Code from the authenticator app"),
                                     "recovery_code": _("Recovery code")}),
    "step": Lookup(lambda: {"code": _("Sign-in code")}),
}
STEP_LABEL = re.compile(r"^#(\d+) (\w+) → (\w+)$")  # ComplaintStep.__str__, stored as the entry's record label


def record_label(entry: AuditEntry) -> str:
    """The record an entry is about, as stored, but a complaint step's move and state in the reader's words."""
    label = entry.record_label or (f"#{entry.record_id}" if entry.record_id else "")
    step = STEP_LABEL.match(label) if entry.record_type == "complaint_step" else None
    if step:
        complaint, move, status = step.groups()
        return f"#{complaint} {choices.COMPLAINT_MOVE.label(move)} → {choices.COMPLAINT_STATUS.label(status)}"
    if entry.record_type == "role":
        return str(choices.BUILTIN_ROLE.label(label))
    return label


def actor_label(entry: AuditEntry) -> str:
    """Who made the change: a user's name, or 系统 for the entries no user made (crmadmin/audit/context.py)."""
    if entry.actor_id is None and entry.actor == "system":
        return str(choices.AUDIT_SOURCE.label("system"))
    return entry.actor


# --- who may read what ---------------------------------------------------------------------
def may_read_log() -> bool:
    return current_user.can(perm("audit", "view"))


def log_restriction():
    """None when the viewer reads the whole log; else the criterion of what they may read (their own customers)."""
    if not current_user.is_authenticated:
        return false()
    if not current_user.limited_to_own_customers("audit"):
        return None
    return own_customer_entries(current_user.id)


def _screen(admin, endpoint):
    return next((view for view in admin._views if view.endpoint == endpoint), None)


def record_url(admin, record_type: str | None, record_id: str | None) -> str | None:
    """The details page of a logged record, when there is a screen for it that the viewer may open."""
    endpoint = RECORD_ENDPOINTS.get(record_type or "")
    view = _screen(admin, endpoint) if endpoint and record_id else None
    if view is None or not view.is_accessible():
        return None
    return url_for(f"{endpoint}.details_view", id=record_id)


def log_url(admin, **criteria) -> str | None:
    """The operation log filtered by these criteria (see AuditLogView.FILTERS), when the viewer may open it."""
    view = _screen(admin, LOG_ENDPOINT)
    if view is None or not view.is_accessible():
        return None
    return view.filter_url(**criteria)


# --- what an entry says ----------------------------------------------------------------------
_STORED_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?")


def _moment_text(value: str) -> str | None:
    """A logged date-time (stored UTC, as audit/recorder.py writes it) in the viewer's time; None if not one."""
    if not _STORED_MOMENT.fullmatch(value):
        return None
    moment = datetime.fromisoformat(value)
    return format_local(moment, seconds=bool(moment.second or moment.microsecond))


def _cell(value, choice=None) -> dict:
    if isinstance(value, str) and value in SECRET_MARKERS:
        return {"text": SECRET_MARKERS[value](), "secret": True}
    if value is None or value == "":
        return {"text": "", "secret": False}
    if isinstance(value, list):
        return {"text": ", ".join(str(choice.label(v) if choice else v) for v in value), "secret": False}
    if isinstance(value, dict):
        return {"text": json.dumps(value, ensure_ascii=False, sort_keys=True), "secret": False}
    if isinstance(value, bool):
        return {"text": _("Yes") if value else _("No"), "secret": False}
    if isinstance(value, str) and choice is None and (moment := _moment_text(value)) is not None:
        return {"text": moment, "secret": False}
    return {"text": str(choice.label(value) if choice else value), "secret": False}


def readable_changes(entry: AuditEntry) -> dict:
    """{"fields": [{name, label, before, after}], "details": [{name, label, value}]} from the entry's JSON."""
    try:
        data = json.loads(entry.changes) if entry.changes else {}
    except ValueError:
        return {"fields": [], "details": [{"name": "changes", "label": _("Changes"), "value": _cell(entry.changes)}]}
    if not isinstance(data, dict):
        return {"fields": [], "details": [{"name": "changes", "label": _("Changes"), "value": _cell(data)}]}
    pairs = entry.action in ROW_ACTIONS and all(isinstance(v, list) and len(v) == 2 for v in data.values())
    if pairs:
        fields = []
        for name in sorted(data, key=lambda n: (n != "name", n)):
            choice = FIELD_CHOICES.get((entry.record_type, name))
            before, after = data[name]
            label = FIELD_LABELS.get((entry.record_type, name)) or LABELS.get(name, name)
            fields.append({"name": name, "label": str(label), "before": _cell(before, choice),
                           "after": _cell(after, choice)})
        return {"fields": fields, "details": []}
    return {"fields": [], "details": [{"name": name, "label": str(DETAIL_LABELS.get(name) or LABELS.get(name, name)),
                                       "value": _cell(value, DETAIL_VALUES.get(name))}
                                      for name, value in sorted(data.items())]}


# --- the History section of a record's details page -------------------------------------------
def history_for(view, model) -> dict | None:
    """The record's latest log entries with their changes, for viewers who may read the log; else None."""
    if isinstance(model, AuditEntry) or not hasattr(model, "__table__") or not may_read_log():
        return None
    record_type, record_id = model.__table__.name, getattr(model, "id", None)
    if record_id is None:
        return None
    stmt = record_history(record_type, record_id)
    restriction = log_restriction()
    if restriction is not None:
        stmt = stmt.where(restriction)
    entries = db.session.scalars(stmt.limit(HISTORY_ROWS + 1)).all()
    return {"entries": [{"entry": e, "actor": actor_label(e), "changes": readable_changes(e)}
                        for e in entries[:HISTORY_ROWS]],
            "more": len(entries) > HISTORY_ROWS, "limit": HISTORY_ROWS,
            "all_url": log_url(view.admin, record_type=record_type, record_id=str(record_id))}
