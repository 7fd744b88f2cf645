"""Duplicates (重复客户): likely duplicate customers, the merge form, the merge's result and its undo."""
import json

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from .. import choices, duplicates, merge
from ..audit.undo import UndoRefused
from ..auth.permissions import ASSIGN_OWNERS, MERGE_CUSTOMERS
from ..extensions import db
from ..jobs import records
from ..models import AuditEntry, Customer, User
from .base import AccessMixin
from .job_start import start_job
from ..labels import LABELS

PAGE_GROUPS = 20
MAX_CANDIDATES = 10
REASONS = {"phone": _l("same mobile"), "email": _l("same email"), "company": _l("similar name at same company"),
           "address": _l("similar name at same address")}
SAME_NAME = {"company": _l("same name at same company"), "address": _l("same name at same address")}
KINDS = {"phone": ("phone",), "email": ("email",), "name": ("company", "address")}
ENUMS = {"kind": choices.CUSTOMER_KIND, "gender": choices.GENDER, "company_size": choices.COMPANY_SIZE,
         "source": choices.SOURCE, "credit_rating": choices.CREDIT_RATING}
FIELD_LABELS = {**LABELS, "referred_by_id": LABELS["referred_by"], "owner_id": LABELS["owner"]}
RECENT_MERGES = 10


def reason(group: duplicates.Group) -> str:
    if group.section in SAME_NAME and group.same_name:
        return str(SAME_NAME[group.section])
    return str(REASONS[group.section])


class DuplicatesView(AccessMixin, BaseView):
    """Needs customers.view and customers.merge; merging also customers.edit and customers.delete. Follows the
    viewer's data scope: a role limited to its own customers finds and merges only those."""

    permission = "customers"

    def is_accessible(self) -> bool:
        return super().is_accessible() and current_user.can(MERGE_CUSTOMERS)

    def may_merge(self) -> bool:
        return self.is_accessible() and self._may("edit") and self._may("delete")

    def _owner(self) -> int | None:
        return current_user.id if current_user.limited_to_own_customers(self.permission) else None

    # --- the groups -----------------------------------------------------------------------------
    @expose("/")
    def index(self):
        kind = request.args.get("kind", "")
        sections = KINDS.get(kind, duplicates.SECTIONS)
        section = request.args.get("section")
        cursor = (section, request.args.get("after", ""), request.args.get("after2", "")) \
            if section in sections else None
        page = duplicates.find(db.session, self._owner(), sections, cursor, PAGE_GROUPS)
        next_url = None
        if page.next_cursor:
            section, after, after2 = page.next_cursor
            next_url = url_for(".index", kind=kind or None, section=section, after=after, after2=after2 or None)
        kinds = [("", _("All")), ("phone", _("Same mobile")), ("email", _("Same email")),
                 ("name", _("Similar names"))]
        return self.render("admin/duplicates.html", groups=page.groups, reason=reason, kinds=kinds, kind=kind,
                           next_url=next_url, first_url=url_for(".index", kind=kind or None) if cursor else None,
                           may_merge=self.may_merge(), recent=self._recent())

    def _recent(self) -> list[AuditEntry]:
        """The latest merges, to see what was done and undo it; a scoped user sees their own."""
        stmt = select(AuditEntry).where(AuditEntry.action == merge.MERGE_EVENT).order_by(AuditEntry.id.desc())
        if self._owner() is not None:
            stmt = stmt.where(AuditEntry.actor_id == current_user.id)
        return db.session.scalars(stmt.limit(RECENT_MERGES)).all()

    # --- the merge form -------------------------------------------------------------------------
    def _ids(self, source) -> list[int] | None:
        """The customers asked for; None (with a message) unless two to MAX_CANDIDATES of them."""
        try:
            ids = sorted({int(i) for i in source.getlist("ids")})
        except ValueError:
            abort(404)
        if len(ids) > MAX_CANDIDATES:
            flash(_("Merge at most %(num)d customers at a time.", num=MAX_CANDIDATES), "error")
            return None
        if len(ids) < 2:
            flash(_("Choose at least two customers to merge."), "error")
            return None
        return ids

    def _candidates(self, ids) -> list[Customer]:
        customers = db.session.scalars(merge.candidates(ids, self._owner())).all()
        if len(customers) != len(ids):
            abort(404)  # outside the viewer's scope, or gone: as if it did not exist
        return customers

    @expose("/merge/", methods=["GET"])
    def merge_form(self):
        if not self.may_merge():
            abort(403)
        ids = self._ids(request.args)
        if ids is None:
            return redirect(url_for(".index"))
        customers = self._candidates(ids)
        survivor_id = request.args.get("survivor", type=int)
        survivor = next((c for c in customers if c.id == survivor_id), customers[0])
        return self._render_form(customers, survivor)

    def _fields(self):
        return [f for f in merge.FIELDS if f != "owner_id" or current_user.can(ASSIGN_OWNERS)]

    def _counts(self, customers, survivor) -> tuple[dict, list[int]]:
        """Each customer's records, and how many of each kind the merge moves to the survivor."""
        counts = {row[0]: row[1:] for row in db.session.execute(merge.related_counts([c.id for c in customers]))}
        return counts, [sum(counts[c.id][k] for c in customers if c.id != survivor.id) for k in range(6)]

    def merge_check(self, params: dict) -> dict | None:
        """The merge job's check, made again by the worker as its owner: still allowed, and their data scope."""
        if not self.may_merge() or ("owner_id" in params["chosen"] and not current_user.can(ASSIGN_OWNERS)):
            return None
        return {"owner": self._owner()}

    def _render_form(self, customers, survivor, chosen: dict | None = None):
        conflicts = merge.conflicts(customers, survivor, self._fields())
        counts, moving = self._counts(customers, survivor)
        return self.render("admin/merge_form.html", customers=customers, survivor=survivor, conflicts=conflicts,
                           chosen=chosen or {}, counts=counts, moving=moving, label=FIELD_LABELS,
                           shown=self._shown(customers, conflicts),
                           kinds=[_("Transactions"), _("Interactions"), _("Complaints"), _("Campaigns"),
                                  _("Satisfaction surveys"), _("Referred customers")])

    def _shown(self, customers, conflicts) -> dict:
        """Each conflicting value as the user reads it: labels for choices, names for owners and referrers."""
        users = {v for c in conflicts if c.field == "owner_id" for _, v in c.values if v}
        referrers = {v for c in conflicts if c.field == "referred_by_id" for _, v in c.values if v}
        names = {("owner_id", u.id): str(u) for u in db.session.scalars(select(User).where(User.id.in_(users)))}
        names |= {("referred_by_id", r.id): str(r)
                  for r in db.session.scalars(select(Customer).where(Customer.id.in_(referrers)))}
        shown = {}
        for conflict in conflicts:
            for cid, value in conflict.values:
                if value is None or value == "":
                    text = "—"
                elif conflict.field in ENUMS:
                    text = ENUMS[conflict.field].label(value)
                else:
                    text = names.get((conflict.field, value), value)
                shown[(conflict.field, cid)] = str(text)
        return shown

    @expose("/merge/", methods=["POST"])
    def merge_view(self):
        if not self.may_merge():
            abort(403)
        ids = self._ids(request.form)
        if ids is None:
            return redirect(url_for(".index"))
        customers = self._candidates(ids)
        survivor_id = request.form.get("survivor", type=int)
        survivor = next((c for c in customers if c.id == survivor_id), None)
        if survivor is None:
            flash(_("Choose which customer is kept."), "error")
            return redirect(url_for(".merge_form", ids=ids))
        try:
            versions = {c.id: int(request.form.get(f"version_{c.id}", "")) for c in customers}
            chosen = {c.field: int(request.form.get(f"choice_{c.field}", c.default))
                      for c in merge.conflicts(customers, survivor, self._fields())}
        except ValueError:
            abort(400)
        moving = sum(self._counts(customers, survivor)[1])
        if moving > current_app.config["CRM_MERGE_IN_REQUEST_MAX"]:  # each moved record is changed and logged
            work = {"survivor": survivor.id, "ids": [c.id for c in customers], "chosen": chosen,
                    "versions": {str(cid): version for cid, version in versions.items()}}
            job_id, created = start_job("merge", {**work, "moving": moving, "name": str(survivor)},
                                        records.dedupe_key(current_user.id, "merge", work))
            if not created:
                flash(_("This merge is already under way: here is its job."), "info")
            return redirect(url_for("jobs.job_view", id=job_id))
        try:
            details = merge.merge(db.session, survivor.id, [c.id for c in customers], chosen, versions, self._owner())
            db.session.commit()
        except merge.MergeRefused as refusal:
            db.session.rollback()
            flash(str(refusal), "error")
            return redirect(url_for(".merge_form", ids=ids, survivor=survivor_id))
        except StaleDataError:
            db.session.rollback()
            flash(_("One of these customers was changed by someone else meanwhile. Nothing was merged; look at the "
                    "customers again."), "error")
            return redirect(url_for(".merge_form", ids=ids, survivor=survivor_id))
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == merge.MERGE_EVENT,
                                                            AuditEntry.record_id == str(details["survivor"]))
                                   .order_by(AuditEntry.id.desc()).limit(1)).one()
        flash(ngettext("%(num)d customer was merged into %(name)s.", "%(num)d customers were merged into %(name)s.",
                       len(details["merged"]), name=str(db.session.get(Customer, details["survivor"]))), "success")
        return redirect(url_for(".merged", id=entry.id))

    # --- the result, and its undo ----------------------------------------------------------------
    def _entry(self, entry_id) -> AuditEntry:
        entry = merge.merge_entry(db.session, entry_id)
        if entry is None or (self._owner() is not None and entry.actor_id != current_user.id):
            abort(404)
        return entry

    @expose("/merged/")
    def merged(self):
        entry = self._entry(request.args.get("id"))
        details = json.loads(entry.changes or "{}")
        undone = db.session.scalars(select(AuditEntry.id).where(AuditEntry.action == merge.UNDO_EVENT,
                                                                AuditEntry.record_id == entry.record_id,
                                                                AuditEntry.id > entry.id).limit(1)).first()
        survivor = db.session.get(Customer, details.get("survivor"))
        return self.render("admin/merge_done.html", entry=entry, details=details, survivor=survivor,
                           undone=undone is not None, may_merge=self.may_merge(), label=FIELD_LABELS,
                           moved_labels={"transaction": _("Transactions"), "interaction": _("Interactions"),
                                         "complaint": _("Complaints"), "campaign_participant": _("Campaigns"),
                                         "survey_response": _("Satisfaction surveys"),
                                         "referrals": _("Referred customers")})

    @expose("/undo/", methods=["POST"])
    def undo_view(self):
        entry = self._entry(request.form.get("id"))
        if not self.may_merge():
            abort(403)
        try:
            count = merge.undo(db.session, entry)
            db.session.commit()
            flash(ngettext("The merge was undone: %(num)d change was put back.",
                           "The merge was undone: %(num)d changes were put back.", count), "success")
        except UndoRefused as refusal:
            db.session.rollback()
            flash(_("Nothing was undone: %(why)s", why=str(refusal)), "error")
        except SQLAlchemyError:
            db.session.rollback()
            flash(_("The undo conflicts with the records as they are now. Nothing was undone."), "error")
        return redirect(url_for(".merged", id=entry.id))
