"""Validators and form settings the record screens share: phones, dates, money, enumerations."""
import re
from datetime import date, datetime
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import DecimalField
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from ..models import utcnow
from ..phones import e164


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
        limit = now.date() if isinstance(value, date) and not isinstance(value, datetime) else now
        if value > limit:
            raise ValidationError(_("This date cannot be in the future."))


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

    def formatter(choices):
        return lambda view, context, model, name: "" if getattr(model, name) is None else choices.label(getattr(model, name))

    return form, dict(form), {name: formatter(c) for name, c in enums.items()}


def money_field(required: bool = True, positive: bool = True):
    validators = [InputRequired() if required else Optional()]
    validators.append(NumberRange(min=Decimal("0.01") if positive else Decimal("0"),
                                  message=_l("Enter an amount greater than zero.") if positive
                                  else _l("The amount cannot be negative.")))
    return DecimalField, {"places": 2, "validators": validators}


# AJAX pickers: a relationship field searches as the user types, never loading a whole table.
CUSTOMER_LOOKUP = {"fields": ("name", "mobile", "email"), "page_size": 10,
                   "placeholder": _l("Type a name, phone or email")}
USER_LOOKUP = {"fields": ("username", "display_name"), "page_size": 10, "placeholder": _l("Type a user name")}
CAMPAIGN_LOOKUP = {"fields": ("name",), "page_size": 10, "placeholder": _l("Type a campaign name")}
