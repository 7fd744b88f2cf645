"""Screens for purchases and contacts; complaints and campaigns have modules of their own."""
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .. import choices
from .base import SecureModelView
from .fields import (CAMPAIGN_LOOKUP, CUSTOMER_LOOKUP, USER_LOOKUP, CurrencyCode, EmptyToNone, NotInFuture,
                     choice_settings, money_field)
from ..labels import LABELS

class TransactionView(SecureModelView):
    permission = "transactions"
    scope = "customer"
    column_labels = LABELS
    column_list = ("id", "occurred_at", "customer", "product", "quantity", "amount", "currency",
                   "channel", "status", "campaign")
    column_searchable_list = ("product", "customer.name", "customer.mobile", "customer.address")
    column_filters = ("occurred_at", "status", "channel", "currency", "customer.name",
                      "customer.region", "campaign.name")
    column_sortable_list = ("id", "occurred_at", "product", "quantity", "amount", "channel", "status",
                            ("customer", "customer.name"))
    column_default_sort = ("occurred_at", True)
    form_choices, column_choices, column_formatters = choice_settings(channel=choices.SALES_CHANNEL,
                                                   status=choices.TRANSACTION_STATUS)
    form_columns = ("customer", "product", "quantity", "amount", "currency", "occurred_at",
                    "channel", "status", "campaign")
    form_overrides = {"amount": money_field()[0]}
    form_args = {
        "customer": {"validators": [DataRequired()]},
        "product": {"validators": [DataRequired(), Length(max=200)]},
        "quantity": {"validators": [InputRequired(), NumberRange(min=1, max=1_000_000)]},
        "amount": money_field()[1],
        "currency": {"validators": [DataRequired(), CurrencyCode()],
                     "default": "CNY"},
        "occurred_at": {"validators": [DataRequired(), NotInFuture()]},
    }
    form_ajax_refs = {"customer": CUSTOMER_LOOKUP, "campaign": CAMPAIGN_LOOKUP}

class InteractionView(SecureModelView):
    permission = "interactions"
    scope = "customer"
    column_labels = LABELS
    column_list = ("id", "occurred_at", "customer", "channel", "direction", "summary", "outcome",
                   "handled_by", "next_follow_up_on")
    column_searchable_list = ("summary", "customer.name", "customer.mobile", "customer.address")
    column_filters = ("occurred_at", "channel", "direction", "handled_by.username", "customer.name",
                      "next_follow_up_on")
    column_sortable_list = ("id", "occurred_at", "channel", "direction", "next_follow_up_on",
                            ("customer", "customer.name"), ("handled_by", "handled_by.username"))
    column_default_sort = ("occurred_at", True)
    form_choices, column_choices, column_formatters = choice_settings(channel=choices.CONTACT_CHANNEL,
                                                   direction=choices.DIRECTION)
    form_columns = ("customer", "occurred_at", "channel", "direction", "summary", "outcome",
                    "handled_by", "next_follow_up_on")
    form_args = {
        "customer": {"validators": [DataRequired()]},
        "summary": {"validators": [DataRequired(), Length(max=5000)]},
        "outcome": {"validators": [EmptyToNone(), Optional(), Length(max=255)]},
        "occurred_at": {"validators": [DataRequired(), NotInFuture()]},
    }
    form_ajax_refs = {"customer": CUSTOMER_LOOKUP, "handled_by": USER_LOOKUP}

