"""Screens for the records that hang off a customer: transactions, interactions, complaints."""
from flask_babel import gettext as _
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from .. import choices
from .base import SecureModelView
from .fields import (CAMPAIGN_LOOKUP, CUSTOMER_LOOKUP, USER_LOOKUP, CurrencyCode, EmptyToNone, NotInFuture, choice_settings,
                     money_field)
from .labels import LABELS

class TransactionView(SecureModelView):
    permission = "transactions"
    scope = "customer"
    column_labels = LABELS
    column_list = ("id", "occurred_at", "customer", "product", "quantity", "amount", "currency",
                   "channel", "status", "campaign")
    column_searchable_list = ("product", "customer.name", "customer.mobile")
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
    column_searchable_list = ("summary", "customer.name", "customer.mobile")
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

class ComplaintView(SecureModelView):
    permission = "complaints"
    scope = "customer"
    column_labels = LABELS
    column_list = ("id", "received_at", "customer", "subject", "type", "severity", "urgency",
                   "status", "assignee", "due_at")
    column_searchable_list = ("subject", "customer.name", "customer.mobile")
    column_filters = ("status", "type", "severity", "urgency", "channel", "received_at", "due_at",
                      "assignee.username", "department", "customer.name", "satisfaction_score")
    column_sortable_list = ("id", "received_at", "type", "severity", "urgency", "status", "due_at",
                            ("customer", "customer.name"), ("assignee", "assignee.username"))
    column_default_sort = ("received_at", True)
    form_choices, column_choices, column_formatters = choice_settings(
        channel=choices.CONTACT_CHANNEL, type=choices.COMPLAINT_TYPE,
        severity=choices.COMPLAINT_SEVERITY, urgency=choices.COMPLAINT_URGENCY,
        status=choices.COMPLAINT_STATUS)
    form_columns = ("customer", "subject", "description", "channel", "received_at", "type",
                    "severity", "urgency", "status", "assignee", "department", "solution",
                    "action_taken", "customer_feedback", "satisfaction_score", "due_at", "closed_at")
    form_args = {
        "customer": {"validators": [DataRequired()]},
        "subject": {"validators": [DataRequired(), Length(max=200)]},
        "description": {"validators": [DataRequired()]},
        "received_at": {"validators": [DataRequired(), NotInFuture()]},
        "satisfaction_score": {"validators": [Optional(), NumberRange(min=1, max=5)]},
        "closed_at": {"validators": [Optional(), NotInFuture()]},
        "department": {"validators": [EmptyToNone()]},
    }
    form_ajax_refs = {"customer": CUSTOMER_LOOKUP, "assignee": USER_LOOKUP}

    def on_model_change(self, form, model, is_created):
        if model.closed_at and model.received_at and model.closed_at < model.received_at:
            raise ValidationError(_("A complaint cannot be closed before it was received."))
