"""The customer's page as a workplace (客户360): who they are, what to do next with them, and their whole story.

The header's badges and due date, the quick actions the user may take (each form starting with this customer and
coming back here), and one timeline of every kind of record, keyset-paged (crmadmin/reports/timeline.py).
"""
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app, g, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, lazy_pgettext, ngettext
from flask_login import current_user
from sqlalchemy import desc, true

from ..auth.permissions import perm
from ..auth.routes import safe_next
from ..extensions import db
from ..localtime import viewer_zone
from ..reports.timeline import KINDS, Cursor, as_moment, kind_rows, timeline
from ..standing import today
from .keyset import beyond
from .history import actor_label, log_restriction, log_url, may_read_log, readable_changes
from .row_urls import list_url

PAGE_SIZE = 20
# kind -> (the resource whose "view" shows it, the screen that lists and opens such records)
KIND_SCREENS = {"purchase": ("transactions", "transaction"), "contact": ("interactions", "interaction"),
                "complaint": ("complaints", "complaint"), "campaign": ("campaigns", "campaignparticipant"),
                "survey": ("surveys", "survey"), "change": ("audit", "auditentry")}
KIND_LABELS = {"purchase": _l("Purchases"), "contact": _l("Contacts"), "complaint": _l("Complaints"),
               "campaign": _l("Campaign responses"), "survey": _l("Survey answers"), "change": _l("Changes")}
# one item's kind, as its badge in the timeline names it
ITEM_LABELS = {"purchase": lazy_pgettext("timeline item", "Purchase"),
               "contact": lazy_pgettext("timeline item", "Contact"),
               "complaint": lazy_pgettext("timeline item", "Complaint"),
               "campaign": lazy_pgettext("timeline item", "Campaign"),
               "survey": lazy_pgettext("timeline item", "Survey answer"),
               "change": lazy_pgettext("timeline item", "Change")}


def _screen(admin, endpoint: str):
    return next((v for v in admin._views if getattr(v, "endpoint", None) == endpoint), None)


def _may_create(admin, endpoint: str) -> bool:
    view = _screen(admin, endpoint)
    return view is not None and view.is_accessible() and view.can_create


def here(customer_id: int) -> str:
    """This customer's page, where every quick action's form comes back to after saving, still knowing the list it
    was opened from (for the next and previous customer)."""
    return _page_url(customer_id)


def quick_actions(view, customer) -> list[dict]:
    """The one-click actions the user may take on this customer, each opening its form with the customer in it."""
    admin, back, cid = view.admin, here(customer.id), customer.id
    erased = customer.erased_at is not None
    actions = []
    if not erased and current_user.can(perm("interactions", "create")):
        followups = _screen(admin, "followups")
        url = (url_for("followups.log_view", id=cid, url=back) if followups is not None and followups.is_accessible()
               else url_for("interaction.create_view", customer_id=cid, url=back))
        actions.append({"key": "contact", "label": _("Log a contact"), "url": url, "icon": "fa-phone"})
    for key, endpoint, label, icon in (
            ("purchase", "transaction", _l("Record a purchase"), "fa-shopping-cart"),
            ("complaint", "complaint", _l("Register a complaint"), "fa-exclamation-triangle"),
            ("campaign", "campaignparticipant", _l("Add to a campaign"), "fa-bullhorn"),
            ("survey", "survey", _l("Record a survey answer"), "fa-star")):
        if not erased and _may_create(admin, endpoint):
            actions.append({"key": key, "label": str(label), "icon": icon,
                            "url": url_for(f"{endpoint}.create_view", customer_id=cid, url=back)})
    if view.can_edit and not erased:
        actions.append({"key": "edit", "label": _("Edit"), "icon": "fa-pencil",
                        "url": url_for("customer.edit_view", id=cid, url=back)})
        actions.append({"key": "correct", "label": _("Correct personal data"), "icon": "fa-id-card",
                        "url": url_for("personaldata.correct_view", id=cid)})
    return actions


def follow_up(standing) -> dict | None:
    """The next follow-up's day and how far it is from today (business days in the panel's zone)."""
    if standing is None or standing.next_follow_up_on is None:
        return None
    days = (standing.next_follow_up_on - today()).days
    if days < 0:
        note = ngettext("%(num)d day overdue", "%(num)d days overdue", -days)
    elif days == 0:
        note = _("due today")
    else:
        note = ngettext("in %(num)d day", "in %(num)d days", days)
    return {"on": standing.next_follow_up_on, "days": days, "note": note, "overdue": days < 0}


def _readable_kinds(customer) -> list[str]:
    """The kinds of record this user may read about this customer: each by its own right and, where that right is
    limited to their own customers, only on their own customer's page."""
    kinds = []
    for kind in KINDS:
        resource, _endpoint = KIND_SCREENS[kind]
        if kind == "change":
            if may_read_log():
                kinds.append(kind)
        elif current_user.can(perm(resource, "view")) and (
                not current_user.limited_to_own_customers(resource) or customer.owner_id == current_user.id):
            kinds.append(kind)
    return kinds


def _page_url(customer_id: int, **args) -> str:
    keep = {name: request.args.get(name) for name in ("url", "from") if request.args.get(name)}
    return list_url("customer.details_view", id=customer_id, **keep, **args)


def timeline_page(view, customer) -> dict:
    """A page of the customer's timeline for this request's ?kind= and ?before= (a cursor), with its filter links."""
    readable = _readable_kinds(customer)
    chosen = request.args.get("kind")
    chosen = chosen if chosen in readable else None
    cursor = Cursor.parse(request.args.get("before"))
    kinds = (chosen,) if chosen else tuple(readable)
    criterion = None
    if "change" in kinds:
        criterion = log_restriction()
        criterion = true() if criterion is None else criterion
    offset = int(datetime.now(viewer_zone()).utcoffset().total_seconds() // 60)  # a survey day begins at local midnight
    keys = db.session.execute(timeline(customer.id, kinds, cursor, PAGE_SIZE + 1, criterion, offset)).all()
    more, keys = len(keys) > PAGE_SIZE, keys[:PAGE_SIZE]
    records = {}
    for kind in {k.kind for k in keys}:
        ids = [k.id for k in keys if k.kind == kind]
        for record in db.session.scalars(kind_rows(kind, ids)).unique():
            records[(kind, record.id)] = record
    items = []
    for key in keys:
        record = records.get((key.kind, key.id))
        if record is None:
            continue
        item = {"kind": key.kind, "label": ITEM_LABELS[key.kind], "moment": as_moment(key.moment), "record": record}
        if key.kind == "change":
            item.update(actor=actor_label(record), changes=readable_changes(record))
        items.append(item)
    last = keys[-1] if keys else None
    filters = [{"kind": None, "label": _("Everything"), "url": _page_url(customer.id), "active": chosen is None}]
    for kind in readable:
        resource, endpoint = KIND_SCREENS[kind]
        screen = _screen(view.admin, endpoint)
        all_url = None
        if kind == "change":
            all_url = log_url(view.admin, record_type="customer", record_id=str(customer.id))
        elif screen is not None and screen.is_accessible():
            all_url = list_url(f"{endpoint}.index_view", customer_id=customer.id)
        filters.append({"kind": kind, "label": str(KIND_LABELS[kind]), "url": _page_url(customer.id, kind=kind),
                        "active": chosen == kind, "all_url": all_url})
    older = (_page_url(customer.id, kind=chosen, before=Cursor(as_moment(last.moment), last.kind, last.id).text())
             if more and last is not None else None)
    newest = _page_url(customer.id, kind=chosen) if cursor is not None else None
    return {"entries": items, "filters": filters, "older": older, "newest": newest, "chosen": chosen,
            "first_page": cursor is None}


# --- next and previous customer of the list the page was opened from --------------------------------------------
NEIGHBOUR_LISTS = ("customer", "followups")  # the lists whose rows are customers (by id, or by customer_id)


def _list_of(admin, target: str | None):
    """The customers' or follow-ups' list view and its URL, if `target` is a plain path to one of them on this site."""
    if not target or safe_next(target, "") != target:
        return None, None
    path = urlsplit(target).path
    for endpoint in NEIGHBOUR_LISTS:
        if path == url_for(f"{endpoint}.index_view"):
            view = _screen(admin, endpoint)
            return (view, target) if view is not None and view.is_accessible() else (None, None)
    return None, None


def neighbours(customer_view, customer) -> dict | None:
    """The previous and next customer of the list this page was opened from (?from=, else Flask-Admin's ?url=), in
    that list's own order, filters, search and scope: the list's query, run for its URL, one row either side."""
    target = request.args.get("from") or request.args.get("url")
    view, target = _list_of(customer_view.admin, target)
    if view is None:
        return None
    key = view._row_key()
    with current_app.test_request_context(target):  # the same app context: the same user, and `g` for the sort keys
        args = view._get_list_extra_args()
        sort = view._get_column_by_idx(args.sort)
        _count, query = view.get_list(0, sort[0] if sort else None, args.sort_desc, args.search, args.filters,
                                      execute=False, page_size=0)
        keys = list(g.crm_list.keys)
    row = query.order_by(None).filter(getattr(view.model, key) == customer.id).first()
    if row is None:
        return None  # no longer in that list (edited, or filtered out): no neighbours to speak of
    values = [k.value(row) for k in keys]
    nulls_high = db.session.get_bind().dialect.name == "postgresql"
    after = query.filter(beyond(keys, values, True, nulls_high)).limit(1).first()
    before = (query.filter(beyond(keys, values, False, nulls_high)).order_by(None)
              .order_by(*(k.column if k.desc else desc(k.column) for k in keys)).limit(1).first())
    keep = {name: request.args.get(name) for name in ("url", "from") if request.args.get(name)}

    def link(found):
        return None if found is None else list_url("customer.details_view", id=getattr(found, key), **keep)

    return {"previous": link(before), "next": link(after), "list_name": view.name}
