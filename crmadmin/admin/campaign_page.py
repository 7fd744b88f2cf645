"""A campaign's page in the customer page's shape (admin/customer_page.py): a header with its state, dates, target
counts, response rate and owner, the quick actions the user may take, and a timeline of its participants' responses,
keyset-paged (crmadmin/reports/campaign_timeline.py), in the viewer's scope as the campaign's figures are."""
from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import choices
from ..auth.permissions import perm
from ..extensions import db
from ..reports.campaign_timeline import cursor_text, parse_cursor, responses
from .campaign_targets import OPEN_STATUSES
from .row_urls import list_url

PAGE_SIZE = 20
RESPONDED = choices.PARTICIPANT_RESPONSE.values[1:]  # every step past invited is a response


def here(campaign_id: int) -> str:
    """This campaign's page, where the quick actions' forms come back to after saving."""
    return list_url("campaign.details_view", id=campaign_id)


def quick_actions(view, campaign, results: dict) -> list[dict]:
    """The one-click actions the user may take on this campaign: add customers (from a segment, or one), record
    responses on its target list, edit it, and read its results beside other campaigns."""
    back, cid = here(campaign.id), campaign.id
    actions = []
    is_open = campaign.status in OPEN_STATUSES
    if is_open and results.get("targets_url"):
        actions.append({"key": "targets", "label": _("Add customers from a segment"), "icon": "fa-users",
                        "url": results["targets_url"]})
    participants = view.admin_view("campaignparticipant")
    if is_open and participants is not None and participants.can_create:
        actions.append({"key": "participant", "label": _("Add a customer"), "icon": "fa-user-plus",
                        "url": url_for("campaignparticipant.create_view", campaign_id=cid, url=back)})
    if campaign.status != "cancelled" and participants is not None and participants.can_edit \
            and results.get("list_url"):
        actions.append({"key": "response", "label": _("Record a response"), "icon": "fa-check",
                        "url": results["list_url"]})
    if view.can_edit:
        actions.append({"key": "edit", "label": _("Edit"), "icon": "fa-pencil",
                        "url": url_for("campaign.edit_view", id=cid, url=back)})
    actions.append({"key": "results", "label": _("Results"), "icon": "fa-bar-chart", "url": "#campaign-results"})
    actions.append({"key": "compare", "label": _("Compare campaigns"), "icon": "fa-balance-scale",
                    "url": results["compare_url"]})
    return actions


def _page_url(campaign_id: int, **args) -> str:
    keep = {"url": request.args.get("url")} if request.args.get("url") else {}
    return list_url("campaign.details_view", id=campaign_id, **keep, **args)


def timeline_page(campaign) -> dict:
    """A page of the campaign's responses for this request's ?response= and ?before= (a cursor), with its filters."""
    chosen = request.args.get("response")
    chosen = chosen if chosen in RESPONDED else None
    cursor = parse_cursor(request.args.get("before"))
    owner = current_user.id if current_user.limited_to_own_customers("campaigns") else None
    rows = db.session.scalars(responses(campaign.id, cursor, PAGE_SIZE + 1, chosen, owner)).unique().all()
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    filters = [{"key": None, "label": _("Every response"), "url": _page_url(campaign.id), "active": chosen is None}]
    filters += [{"key": r, "label": choices.PARTICIPANT_RESPONSE.label(r), "url": _page_url(campaign.id, response=r),
                 "active": chosen == r} for r in RESPONDED]
    return {"entries": rows, "filters": filters, "chosen": chosen, "first_page": cursor is None,
            "older": _page_url(campaign.id, response=chosen, before=cursor_text(rows[-1])) if more else None,
            "newest": _page_url(campaign.id, response=chosen) if cursor is not None else None,
            "customers": current_user.can(perm("customers", "view"))}
