"""Screens for the records that hang off a customer: transactions, interactions, campaigns (complaints apart)."""
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

class CampaignView(SecureModelView):
    permission = "campaigns"
    column_labels = LABELS
    column_list = ("id", "name", "type", "channel", "status", "starts_on", "ends_on", "budget",
                   "actual_cost", "owner")
    column_searchable_list = ("name",)
    column_filters = ("type", "channel", "status", "starts_on", "ends_on", "owner.username")
    column_sortable_list = ("id", "name", "type", "channel", "status", "starts_on", "ends_on",
                            "budget", "actual_cost", ("owner", "owner.username"))
    column_default_sort = ("starts_on", True)
    form_choices, column_choices, column_formatters = choice_settings(type=choices.CAMPAIGN_TYPE,
                                                   channel=choices.CONTACT_CHANNEL,
                                                   status=choices.CAMPAIGN_STATUS)
    form_columns = ("name", "type", "channel", "status", "starts_on", "ends_on", "budget",
                    "actual_cost", "description", "owner")
    form_overrides = {"budget": money_field()[0], "actual_cost": money_field()[0]}
    form_args = {
        "name": {"validators": [DataRequired(), Length(max=200)]},
        "starts_on": {"validators": [DataRequired()]},
        "budget": money_field(required=False, positive=False)[1],
        "actual_cost": money_field(required=False, positive=False)[1],
    }
    form_ajax_refs = {"owner": USER_LOOKUP}

    def on_model_change(self, form, model, is_created):
        if model.ends_on and model.starts_on and model.ends_on < model.starts_on:
            raise ValidationError(_("A campaign cannot end before it starts."))

class ParticipantView(SecureModelView):
    """The target lists of campaigns, one row per invited customer, with their response."""

    permission = "campaigns"
    scope = "customer"
    column_labels = LABELS
    column_list = ("id", "campaign", "customer", "response", "responded_at", "note")
    column_searchable_list = ("customer.name", "campaign.name")
    column_filters = ("campaign.name", "response", "responded_at", "customer.name")
    column_sortable_list = ("id", "response", "responded_at", ("campaign", "campaign.name"),
                            ("customer", "customer.name"))
    column_default_sort = ("id", True)
    form_choices, column_choices, column_formatters = choice_settings(response=choices.PARTICIPANT_RESPONSE)
    form_columns = ("campaign", "customer", "response", "responded_at", "note")
    form_args = {
        "campaign": {"validators": [DataRequired()]},
        "customer": {"validators": [DataRequired()]},
        "responded_at": {"validators": [Optional(), NotInFuture()]},
    }
    form_ajax_refs = {"customer": CUSTOMER_LOOKUP, "campaign": CAMPAIGN_LOOKUP}
