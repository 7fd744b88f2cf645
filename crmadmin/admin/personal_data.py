"""Personal data requests: correct a customer's data, or erase it on their request; and the list of requests done."""
from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from .. import choices
from ..auth.permissions import ERASE_PERSONAL_DATA, perm
from ..extensions import db
from ..files import storage as file_storage
from ..models import AuditEntry, Customer, PersonalDataRequest
from ..privacy import IDENTIFYING, correct, erase, personal_fields
from ..search import escape_like
from .base import SecureModelView
from .fields import EmptyToNone, NotInFuture, PhoneNumber, choice_settings, local_date_field
from .history import FieldNames
from ..labels import LABELS
from .scope import restrict

FORM_CHOICES, COLUMN_CHOICES, CHOICE_FORMATTERS = choice_settings(kind=choices.PERSONAL_DATA_REQUEST,
                                                                  channel=choices.CONTACT_CHANNEL)
CORRECTABLE = ("name", "gender", "birthday", "mobile", "email", "address")


class RequestFields(FlaskForm):
    """What the customer asked, when and how: kept with the change, without repeating their data."""

    received_on = local_date_field(_l("Request received on"), validators=[InputRequired(), NotInFuture()])
    channel = SelectField(_l("Received by"), choices=choices.CONTACT_CHANNEL.form_choices(),
                          validators=[InputRequired()])
    reference = StringField(_l("Reference (ticket or letter number)"), validators=[EmptyToNone(), Length(max=100)])
    note = TextAreaField(_l("Note (do not repeat the personal data here)"),
                         validators=[EmptyToNone(), Length(max=2000)])


class CorrectionForm(RequestFields):
    version = HiddenField()
    name = StringField(LABELS["name"], validators=[DataRequired(), Length(max=120)])
    gender = SelectField(LABELS["gender"], choices=[("", "—")] + choices.GENDER.form_choices(), validators=[Optional()])
    birthday = local_date_field(LABELS["birthday"], validators=[Optional(), NotInFuture()])
    mobile = StringField(LABELS["mobile"], validators=[PhoneNumber()])
    email = EmailField(LABELS["email"], validators=[EmptyToNone(), Optional(), Email(), Length(max=254)])
    address = StringField(LABELS["address"], validators=[EmptyToNone(), Length(max=255)])


class ErasureForm(RequestFields):
    version = HiddenField()
    confirm = BooleanField(_l("I understand that the personal data will be erased for good, also from the "
                              "operation log, and that this cannot be undone."), validators=[DataRequired()])


class PersonalDataRequestView(SecureModelView):
    """The requests carried out: auditors and supervisors see that every request was honoured, and by whom."""

    permission = "customers"
    scope = "customer"
    can_create = can_edit = can_delete = False
    column_labels = {**LABELS, "performed_at": _l("Carried out at"), "performed_by": _l("Carried out by"),
                     "received_on": _l("Request received on"), "kind": _l("Request"), "fields": _l("Fields"),
                     "reference": _l("Reference"), "batch_id": _l("Batch")}
    column_list = ("performed_at", "kind", "customer", "received_on", "channel", "reference", "fields", "performed_by")
    column_details_list = column_list + ("note", "batch_id")
    column_filters = ("kind", "received_on", "performed_at")
    column_sortable_list = ("performed_at", "received_on")
    column_default_sort = ("performed_at", True)
    column_choices = COLUMN_CHOICES
    column_formatters = {**CHOICE_FORMATTERS, "fields": lambda v, c, m, n: FieldNames.label(m.fields)}

    def _customer(self, for_action: str) -> Customer:
        """The customer named by ?id=, in the viewer's scope; any other is simply not found."""
        if not current_user.can(perm("customers", "edit")):
            abort(403)
        if for_action == "erase" and not current_user.can(ERASE_PERSONAL_DATA):
            abort(403)
        raw = request.args.get("id", "")
        if not raw.isdigit() or len(raw) > 9:
            abort(404)
        query = restrict(db.session.query(Customer).filter(Customer.id == int(raw)), Customer, "owner", "customers")
        customer = query.one_or_none()
        if customer is None:
            abort(404)
        return customer

    def _back(self, customer: Customer) -> str:
        return url_for("customer.details_view", id=customer.id)

    @staticmethod
    def _request(form) -> PersonalDataRequest:
        return PersonalDataRequest(received_on=form.received_on.data, channel=form.channel.data,
                                   reference=form.reference.data, note=form.note.data,
                                   performed_by_id=current_user.id)

    @staticmethod
    def _stale(form, customer: Customer) -> bool:
        return str(customer.version) != (form.version.data or "")

    @expose("/correct/", methods=("GET", "POST"))
    def correct_view(self):
        """Correct a customer's personal data (?id=), recording the request that asked for it."""
        customer = self._customer("correct")
        form = CorrectionForm(obj=customer if request.method == "GET" else None)
        if request.method == "GET":
            form.version.data = str(customer.version)
            form.gender.data = customer.gender or ""
        status = 200
        if form.validate_on_submit():
            if self._stale(form, customer):
                flash(_("Someone else saved this customer while you were editing. Nothing was saved; "
                        "reload the form to correct the current version."), "error")
                status = 409
            else:
                values = {field: getattr(form, field).data or None for field in CORRECTABLE}
                try:
                    changed = correct(db.session, customer, values, self._request(form))
                    if not changed:
                        db.session.rollback()
                        flash(_("Nothing was changed: the values are the same as before."), "warning")
                        status = 400
                    else:
                        db.session.commit()
                        flash(_("Personal data of %(name)s corrected (%(fields)s); the request is recorded.",
                                name=customer.name, fields=", ".join(str(LABELS.get(f, f)) for f in changed)),
                              "success")
                        return redirect(self._back(customer))
                except (ValidationError, SQLAlchemyError) as error:
                    self._fail(error, _l("The correction could not be saved. Nothing was changed."))
                    status = 409
        elif request.method == "POST":
            flash(_("Nothing was changed: correct the fields marked below."), "error")
            status = 400
        return self.render("admin/personal_data_form.html", form=form, customer=customer, erasure=False,
                           return_url=self._back(customer), title=_("Correct personal data")), status

    @expose("/erase/", methods=("GET", "POST"))
    def erase_view(self):
        """Erase a customer's personal data (?id=) everywhere, the operation log included; figures stay."""
        customer = self._customer("erase")
        if customer.erased_at is not None:
            flash(_("The personal data of this customer was already erased."), "warning")
            return redirect(self._back(customer))
        form = ErasureForm()
        if request.method == "GET":
            form.version.data = str(customer.version)
        status = 200
        if form.validate_on_submit():
            if self._stale(form, customer):
                flash(_("Someone else saved this customer in the meantime. Nothing was erased; "
                        "check the customer and try again."), "error")
                status = 409
            else:
                try:
                    done = erase(db.session, customer, self._request(form), current_app.config["CRM_PHONE_REGION"],
                                 file_storage.folder(current_app.config))
                    db.session.commit()
                except (ValidationError, SQLAlchemyError) as error:
                    self._fail(error, _l("The personal data could not be erased. Nothing was changed."))
                    status = 409
                else:
                    flash(_("Personal data of customer #%(id)d erased: %(fields)d fields, %(records)d records' "
                            "free text and %(entries)d operation log entries.", id=customer.id,
                            fields=len(done.fields), records=done.records, entries=done.log_entries), "success")
                    return redirect(self._back(customer))
        elif request.method == "POST":
            flash(_("Nothing was erased: correct the fields marked below."), "error")
            status = 400
        fields = [(str(LABELS.get(field, field)), getattr(customer, field)) for field in personal_fields(customer)]
        return self.render("admin/personal_data_form.html", form=form, customer=customer, erasure=True,
                           fields=fields, entries=self._logged(customer), return_url=self._back(customer),
                           title=_("Erase personal data")), status

    @staticmethod
    def _logged(customer: Customer) -> int:
        """How many log entries are about the customer or mention their name, phone or email (shown before erasing)."""
        table = AuditEntry.__table__
        mentions = [table.c.record_label.ilike(f"%{escape_like(value)}%", escape="\\")
                    for value in (getattr(customer, field) for field in IDENTIFYING) if value and len(value) >= 2]
        own = (table.c.record_type == "customer") & (table.c.record_id == str(customer.id))
        return db.session.scalar(select(func.count()).select_from(table).where(or_(own, *mentions)))
