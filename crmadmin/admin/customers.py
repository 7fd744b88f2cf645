"""The customer file screen, with the customer's whole history on the details page."""
from flask import abort, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms.validators import DataRequired, Email, NumberRange, Optional, ValidationError

from .. import choices
from ..audit import log_event
from ..auth.permissions import ASSIGN_OWNERS, ERASE_PERSONAL_DATA, MERGE_CUSTOMERS
from ..auth.throttle import taken_check
from ..extensions import db
from ..models import Customer, StandingChange
from ..queries import customer_dependents
from . import customer_page, limits, taken
from .base import SecureModelView, phone_cell
from .fields import CUSTOMER_LOOKUP, USER_LOOKUP, EmptyToNone, NotInFuture, PhoneNumber, choice_settings
from ..labels import LABELS
from .scope import restrict
from .sections import ConfirmDuplicate, Hidden, Section
from .standing_base import days_since_purchase, explain_stage, explain_tier

HISTORY_ROWS = 20
# shown in the page's header (admin/customer_page.py), not again among the details
HEADER_COLUMNS = ("id", "name", "kind", "mobile", "email", "owner")
FORM_CHOICES, COLUMN_CHOICES, CHOICE_FORMATTERS = choice_settings(
    kind=choices.CUSTOMER_KIND, gender=choices.GENDER, company_size=choices.COMPANY_SIZE,
    source=choices.SOURCE, credit_rating=choices.CREDIT_RATING,
)
STANDING_CHOICES = {"standing.tier": choices.VALUE_TIER.form_choices(),
                    "standing.stage": choices.LIFECYCLE_STAGE.form_choices()}


def _standing(attribute: str, labels: choices.Choices):
    def formatter(view, context, model, name):
        value = getattr(model.standing, attribute) if model.standing is not None else None
        return "" if value is None else labels.label(value)
    formatter.crm_choices = labels  # a label of the value at the column's path (admin/export_rows.py)
    return formatter


class CustomerView(SecureModelView):
    permission = "customers"
    scope = "owner"
    column_labels = LABELS
    # a clerk's day: who, how to reach them, where they stand and when they are due; fits 1366 px (the e-mail,
    # industry, source and dates are on the details page and in the export)
    column_list = ("id", "name", "kind", "mobile", "company_name", "region", "standing.tier", "standing.stage",
                   "owner", "standing.next_follow_up_on")
    # the handbooks' fuzzy search (模糊查询): every field the search indexes hold (search.INDEXED)
    column_searchable_list = ("name", "mobile", "email", "company_name", "address")
    column_filters = ("owner.username", "kind", "source", "region", "industry", "standing.tier", "standing.stage",
                      "credit_rating", "created_at", "standing.next_follow_up_on")
    column_sortable_list = ("id", "name", "kind", "mobile", "company_name", "region", "industry", "source",
                            "created_at", "updated_at", ("owner", "owner.username"), "standing.next_follow_up_on")
    column_default_sort = ("id", True)
    column_choices = {**COLUMN_CHOICES, **STANDING_CHOICES}
    column_formatters = {**CHOICE_FORMATTERS, "standing.tier": _standing("tier", choices.VALUE_TIER),
                         "standing.stage": _standing("stage", choices.LIFECYCLE_STAGE), "mobile": phone_cell}
    column_formatters_export = {"standing.tier": _standing("tier", choices.VALUE_TIER),
                                "standing.stage": _standing("stage", choices.LIFECYCLE_STAGE)}
    form_choices = FORM_CHOICES
    column_export_list = ("id", "name", "kind", "gender", "birthday", "mobile", "email", "address",
                          "region", "company_name", "position", "industry", "company_size", "source",
                          "credit_rating", "owner", "standing.tier", "standing.stage", "tags",
                          "created_at", "updated_at")
    form_columns = ("name", "kind", "gender", "birthday", "mobile", "email", "address", "region",
                    "company_name", "position", "industry", "company_size", "source", "referred_by",
                    "preferences", "interests", "needs", "notes", "tags", "credit_rating", "owner",
                    "follow_up_days")
    column_details_list = ("id",) + form_columns + ("created_at", "updated_at")
    form_args = {
        "name": {"validators": [DataRequired()]},
        "mobile": {"validators": [PhoneNumber()]},
        "email": {"validators": [EmptyToNone(), Optional(), Email()]},
        "birthday": {"validators": [Optional(), NotInFuture()]},
        "follow_up_days": {"validators": [Optional(), NumberRange(min=1, max=365)]},
        "address": {"validators": [EmptyToNone()]},
        "region": {"validators": [EmptyToNone()]},
        "company_name": {"validators": [EmptyToNone()]},
        "industry": {"validators": [EmptyToNone()]},
    }
    form_ajax_refs = {"owner": USER_LOOKUP, "referred_by": CUSTOMER_LOOKUP}
    # the customer file's parts as the handbooks name them (DOMAIN.md), instead of one long column
    form_rules = [
        Section(_l("Identity"), ("name", "kind", "gender", "birthday")),
        Section(_l("Contact"), ("mobile", "email", ConfirmDuplicate(), "address", "region")),
        Section(_l("Company details"), ("company_name", "position", "industry", "company_size")),
        Section(_l("Preferences and notes"), ("preferences", "interests", "needs", "notes", "tags")),
        Section(_l("Source and ownership"), ("source", "referred_by", "owner", "credit_rating", "follow_up_days")),
        Hidden("row_version"),
    ]
    create_template = "admin/customer_create.html"
    edit_template = "admin/customer_edit.html"
    details_template = "admin/customer_details.html"

    # --- owners: only those who may assign owners choose one; a clerk's new customer is their own ---
    def _may_assign(self) -> bool:
        return current_user.can(ASSIGN_OWNERS)

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if not self._may_assign():
            del form.owner
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if not self._may_assign():
            del form.owner
        return form

    def on_model_change(self, form, model, is_created):
        if is_created and not self._may_assign():
            model.owner_id = current_user.id
        confirmed = getattr(form, "crm_confirmed", None)
        if confirmed:
            db.session.flush()  # a new customer's id, for the log
            log_event(db.session, "duplicate_saved", model, {
                "keys": [c.section for c in confirmed], "customers": [c.customer_id for c in confirmed]})

    # --- a mobile or e-mail another customer has: said before saving; saved only as a second step by those who may ---
    def validate_form(self, form):
        valid = super().validate_form(form)
        if request.method != "POST":
            return valid
        values = {name: form[name].data for name in taken.KEYS if name in form and not form[name].errors}
        editing = getattr(form, "crm_editing", None)
        clashes = taken.find(values, editing.id if editing is not None else None)
        if not clashes:
            return valid
        may = taken.may_save_duplicates()
        signature = taken.signature(clashes)
        if may and request.form.get(taken.CONFIRM) == signature:
            form.crm_confirmed = clashes
            return valid
        for clash in clashes:
            form[clash.field].errors = [*form[clash.field].errors, taken.explain(clash, may)]
        form.crm_confirm = signature if may else None
        return False

    @expose("/taken/", methods=["POST"])
    @taken_check
    def taken_view(self):
        """The form's live check while typing: for each of mobile and e-mail sent, whether another customer has it,
        in the words the save would use (link or owner, never the customer's data). CSRF-checked like every POST."""
        if not (self.can_create or self.can_edit):
            abort(403)
        editing = request.form.get("id", type=int)
        if editing is not None and not restrict(db.session.query(Customer.id), Customer, "owner", "customers") \
                .filter(Customer.id == editing).count():
            editing = None  # a customer the user cannot see is no exception to the check
        values = {name: request.form.get(name, "")[:limits.column_lengths(Customer)[name]]
                  for name in taken.KEYS if name in request.form}
        clashes = {c.field: c for c in taken.find(values, editing)}
        may = taken.may_save_duplicates()
        return jsonify({name: {"taken": name in clashes,
                               "message": str(taken.explain(clashes[name], may, saving=False)) if name in clashes else ""}
                        for name in values})

    def get_query(self):
        """The standing columns are shown and exported with each row: load them in the same statement."""
        return super().get_query().options(joinedload(Customer.standing))

    def on_model_delete(self, model):
        transactions, complaints, surveys = db.session.execute(customer_dependents(model.id)).one()
        if transactions or complaints:
            raise ValidationError(_(
                "%(name)s cannot be deleted: they have %(t)d transactions and %(c)d complaints, which are kept. "
                "Nothing was changed.", name=model.name, t=transactions, c=complaints))
        if surveys:
            raise ValidationError(ngettext(
                "%(name)s cannot be deleted: they answered %(num)d satisfaction survey, which is kept. "
                "Nothing was changed.",
                "%(name)s cannot be deleted: they answered %(num)d satisfaction surveys, which are kept. "
                "Nothing was changed.", surveys, name=model.name))

    # --- merging duplicates (admin/duplicates.py): from the selected rows to the merge form ---
    def is_action_allowed(self, name: str) -> bool:
        if name == "merge":
            return current_user.can(MERGE_CUSTOMERS) and self.can_edit and self.can_delete
        return super().is_action_allowed(name)

    @action("merge", _l("Merge"))
    def action_merge(self, ids):
        """Opens the merge form for the selected customers; nothing changes until that form is sent."""
        return redirect(url_for("duplicates.merge_form", ids=sorted(int(i) for i in ids if str(i).isdigit())))

    def render(self, template, **kwargs):
        """The details page is the customer's workplace (admin/customer_page.py): header, quick actions, timeline."""
        if template == self.details_template and kwargs.get("model") is not None:
            customer = kwargs["model"]
            kwargs["standing"] = self._standing(customer)
            kwargs["follow_up"] = customer_page.follow_up(customer.standing)
            kwargs["quick_actions"] = customer_page.quick_actions(self, customer)
            kwargs["timeline"] = customer_page.timeline_page(self, customer)
            kwargs["neighbours"] = customer_page.neighbours(self, customer)
            kwargs["privacy"] = self._privacy_links(customer)
            kwargs["details_shown"] = [(c, label) for c, label in kwargs.get("details_columns", ())
                                       if c not in HEADER_COLUMNS]
        return super().render(template, **kwargs)

    def _privacy_links(self, customer) -> dict:
        """The personal data requests this user may carry out on the customer."""
        may_edit = self.can_edit and customer.erased_at is None
        return {"correct": url_for("personaldata.correct_view", id=customer.id) if may_edit else None,
                "erase": url_for("personaldata.erase_view", id=customer.id)
                if may_edit and current_user.can(ERASE_PERSONAL_DATA) else None}

    def _standing(self, customer) -> dict | None:
        """Tier and stage with why, the R/F/M figures, the follow-up dates, and how the standing changed."""
        standing = customer.standing
        if standing is None:
            return None
        changes = db.session.scalars(select(StandingChange).where(StandingChange.customer_id == customer.id)
                                     # newest first, in the order of ix_standing_change_customer_id_changed_at
                                     .order_by(StandingChange.changed_at.desc(), StandingChange.id.desc())
                                     .limit(HISTORY_ROWS)).all()
        return {"row": standing, "tier_reason": explain_tier(standing), "stage_reason": explain_stage(standing),
                "days_since": days_since_purchase(self, None, standing, None), "changes": changes}
