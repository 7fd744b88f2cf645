"""Validators, fields and form settings the record screens share: phones, local times, dates, money, enumerations."""
import re
from datetime import date, datetime
from decimal import Decimal

from flask import current_app
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.model.form import converts
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import DateField, DecimalField, Field
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from ..localtime import format_local, parse_local, to_local, to_utc
from ..models import utcnow
from ..phones import e164
from .widgets import PickerInput


# Flask-Admin shows only str errors (`e is string`): raise with gettext at call time, never a lazy string.


class PhoneNumber:
    """Accepts a valid phone number (national numbers in the configured region) and stores it as E.164."""

    def __call__(self, form, field):
        if not field.data:
            field.data = None
            return
        number = e164(field.data, current_app.config["CRM_PHONE_REGION"])
        if number is None:
            raise ValidationError(_("Enter a valid phone number, for example 13812345678 or +86 138 1234 5678."))
        field.data = number


class NotInFuture:
    """Things that already happened cannot happen tomorrow."""

    def __call__(self, form, field):
        value = field.data
        if value is None:
            return
        now = utcnow()
        limit = to_local(now).date() if isinstance(value, date) and not isinstance(value, datetime) else now
        if value > limit:
            raise ValidationError(_("This date cannot be in the future."))


class LocalDateTimeField(Field):
    """A moment typed and shown in the viewer's local time ("YYYY-MM-DD HH:MM"), stored as naive UTC.

    A time the viewer's zone skips is refused with a message. The box shows minutes, as the picker writes them; a
    value sent back at the minute shown keeps the stored moment exactly (its seconds included), so saving a form
    never moves a time it did not touch.
    """

    widget = PickerInput("datetime")

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        return self._shown(self.data)

    @staticmethod
    def _shown(moment) -> str:
        return format_local(moment) if isinstance(moment, datetime) else ""

    def process_formdata(self, valuelist):
        text = " ".join(valuelist).strip() if valuelist else ""
        if not text:
            self.data = None
            return
        stored = self.object_data
        if isinstance(stored, datetime) and text in (self._shown(stored), format_local(stored, seconds=True)):
            self.data = stored
            return
        self.data = None
        self.data = to_utc(parse_local(text))  # ValueError (its message) for text or a skipped hour

    def validate(self, form, extra_validators=()):
        """What was typed is not a time: say why, not "required" (DataRequired clears the errors it finds)."""
        valid = super().validate(form, extra_validators)
        if self.process_errors:
            self.errors = [str(e) for e in self.process_errors]
            return False
        return valid


def local_date_field(*args, **kwargs) -> DateField:
    """A date (no time, no zone: a birthday is the same day everywhere) in the picker's text box."""
    kwargs.setdefault("widget", PickerInput("date"))
    return DateField(*args, **kwargs)


class LocalTimeConverter(AdminModelConverter):
    """Every generated form: DateTime columns as LocalDateTimeField, Date columns in the date picker's box."""

    @converts("DateTime")
    def convert_datetime(self, field_args, **extra):
        field_args.pop("widget", None)
        return LocalDateTimeField(**field_args)

    @converts("Date")
    def convert_date(self, field_args, **extra):
        field_args.setdefault("widget", PickerInput("date"))
        return DateField(**field_args)


class CurrencyCode:
    """Three capital letters, as in ISO 4217 (CNY, USD, EUR)."""

    def __call__(self, form, field):
        if not re.fullmatch(r"[A-Z]{3}", field.data or ""):
            raise ValidationError(_("Enter a three-letter currency code such as CNY."))


class EmptyToNone:
    """Blank optional text is stored as NULL, not as an empty string that breaks uniqueness and filters."""

    def __call__(self, form, field):
        if isinstance(field.data, str):
            field.data = field.data.strip() or None


def choice_settings(**enums):
    """form_choices, column_choices (filter options) and column_formatters (labels, blank for empty)."""
    form = {name: c.form_choices() for name, c in enums.items()}

    return form, dict(form), {name: choice_label(c) for name, c in enums.items()}


def choice_label(choices):
    """A column formatter: the stored value's label, blank for none. Marked with its choices, so an export that
    reads no records (admin/export_rows.py) writes the same labels."""
    def formatter(view, context, model, name):
        value = getattr(model, name)
        return "" if value is None else choices.label(value)

    formatter.crm_choices = choices
    return formatter


def money_field(required: bool = True, positive: bool = True):
    validators = [InputRequired() if required else Optional()]
    validators.append(NumberRange(min=Decimal("0.01") if positive else Decimal("0"),
                                  message=_l("Enter an amount greater than zero.") if positive
                                  else _l("The amount cannot be negative.")))
    return DecimalField, {"places": 2, "validators": validators}


# AJAX pickers: a relationship field searches as the user types, never loading a whole table.
CUSTOMER_LOOKUP = {"fields": ("name", "mobile", "email", "address"), "page_size": 10,
                   "placeholder": _l("Type a name, phone, email or address")}
USER_LOOKUP = {"fields": ("username", "display_name"), "page_size": 10, "placeholder": _l("Type a user name")}
CAMPAIGN_LOOKUP = {"fields": ("name",), "page_size": 10, "placeholder": _l("Type a campaign name")}
