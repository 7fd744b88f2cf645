"""Enumerations of the domain with their translated labels: one place for values and words."""
from flask_babel import lazy_gettext as _l, lazy_pgettext


class Choices:
    """An ordered set of stored values, each with a label shown in the user's language."""

    registry: dict = {}

    def __init__(self, name: str, *pairs):
        Choices.registry[name] = self
        self.name = name
        self.pairs = pairs
        self.values = tuple(value for value, _ in pairs)
        self._labels = dict(pairs)

    def label(self, value):
        """The translated label of a stored value; unknown values are shown as they are."""
        return self._labels.get(value, value)

    @classmethod
    def label_of(cls, name: str, value):
        """Templates call this as choice_label('complaint_status', value)."""
        return cls.registry[name].label(value)

    def form_choices(self):
        return [(value, label) for value, label in self.pairs]

    def __iter__(self):
        return iter(self.values)


CUSTOMER_KIND = Choices("customer_kind", ("person", _l("Person")), ("company", _l("Company")))
GENDER = Choices("gender", ("male", _l("Male")), ("female", _l("Female")), ("other", _l("Other")))
COMPANY_SIZE = Choices(
    "company_size",
    ("micro", _l("1–9 employees")),
    ("small", _l("10–49 employees")),
    ("medium", _l("50–249 employees")),
    ("large", _l("250+ employees")),
)
SOURCE = Choices(
    "customer_source",
    ("exhibition", _l("Exhibition")),
    ("website", _l("Website")),
    ("referral", _l("Referral")),
    ("advertising", _l("Advertising")),
    ("phone_inquiry", _l("Phone inquiry")),
    ("social_media", _l("Social media")),
    ("walk_in", _l("Walk-in")),
)
CREDIT_RATING = Choices(
    "credit_rating",
    ("AAA", _l("AAA (excellent)")),
    ("AA", _l("AA (good)")),
    ("A", _l("A (fair)")),
    ("B", _l("B (watch)")),
    ("C", _l("C (poor)")),
)
LIFECYCLE_STAGE = Choices(
    "lifecycle_stage",
    ("potential", _l("Potential")),
    ("new", _l("New")),
    ("active", _l("Active")),
    ("loyal", _l("Loyal")),
    ("at_risk", _l("At risk")),
    ("churned", _l("Churned")),
)
VALUE_TIER = Choices(
    "value_tier", ("high", _l("High value")), ("medium", _l("Medium value")), ("low", _l("Low value"))
)
TRANSACTION_STATUS = Choices(
    "transaction_status", ("pending", _l("Pending")), ("paid", _l("Paid")), ("refunded", _l("Refunded"))
)
SALES_CHANNEL = Choices(
    "sales_channel",
    ("store", _l("Store")),
    ("online", _l("Online shop")),
    ("phone", _l("Phone order")),
    ("sales_rep", _l("Sales representative")),
    ("partner", _l("Partner")),
)
CONTACT_CHANNEL = Choices(
    "contact_channel",
    ("phone", _l("Phone")),
    ("email", _l("Email")),
    ("visit", _l("Visit")),
    ("social_media", _l("Social media")),
    ("online_chat", _l("Online chat")),
    ("event", _l("Meeting or event")),
)
DIRECTION = Choices("direction", ("inbound", _l("Inbound")), ("outbound", _l("Outbound")))
COMPLAINT_TYPE = Choices(
    "complaint_type",
    ("product_quality", _l("Product quality")),
    ("service", _l("Service")),
    ("price", _l("Price")),
    ("contract", _l("Contract")),
    ("policy", _l("Policy")),
)
COMPLAINT_SEVERITY = Choices("complaint_severity", ("general", _l("General")), ("major", _l("Major")))
COMPLAINT_URGENCY = Choices(
    "complaint_urgency",
    ("urgent", _l("Urgent")),
    ("normal", _l("Normal")),
    ("common_question", _l("Common question")),
)
COMPLAINT_STATUS = Choices(
    "complaint_status",
    ("received", _l("Received")),
    ("assessed", _l("Assessed")),
    ("assigned", _l("Assigned")),
    ("solution_drafted", _l("Solution drafted")),
    ("in_progress", _l("In progress")),
    ("result_reported", _l("Result reported")),
    ("closed", _l("Closed")),
    ("rejected", _l("Rejected")),
    ("reopened", _l("Reopened")),
)
COMPLAINT_MOVE = Choices(  # the steps of the complaint process (crmadmin/complaints/workflow.py)
    "complaint_move",
    ("register", _l("Registered")),
    ("assess", _l("Assess")),
    ("reject", _l("Reject as unfounded")),
    ("assign", _l("Assign")),
    ("reassign", _l("Reassign")),
    ("reclassify", _l("Reclassify")),
    ("draft", _l("Draft solution")),
    ("start", _l("Start work")),
    ("report", _l("Report result to customer")),
    ("close", _l("Close")),
    ("reopen", _l("Reopen")),
)
CAMPAIGN_TYPE = Choices(
    "campaign_type",
    ("appreciation_event", _l("Customer appreciation event")),
    ("product_launch", _l("Product launch")),
    ("seminar", _l("Seminar")),
    ("exhibition", _l("Exhibition")),
    ("promotion", _l("Promotion")),
    ("email_campaign", _l("Email campaign")),
    ("care_action", _l("Care action")),
)
CAMPAIGN_STATUS = Choices(
    "campaign_status",
    ("planned", _l("Planned")),
    ("running", _l("Running")),
    ("finished", _l("Finished")),
    ("cancelled", _l("Cancelled")),
)
PARTICIPANT_RESPONSE = Choices(
    "participant_response",
    ("invited", _l("Invited")),
    ("responded", _l("Responded")),
    ("attended", _l("Attended")),
    ("converted", _l("Converted")),
)
SURVEY_KIND = Choices(
    "survey_kind",
    ("nps", _l("NPS (0–10)")),
    ("csat", _l("CSAT (1–5)")),
)
# the built-in roles' stored names (crmadmin/auth/permissions.py BUILTIN_ROLES), shown by these words; others as named
BUILTIN_ROLE = Choices(
    "builtin_role",
    ("administrator", _l("Administrator")),
    ("supervisor", _l("Supervisor")),
    ("clerk", _l("Clerk")),
    ("auditor", _l("Auditor")),
)
# --- the operation log ------------------------------------------------------------------
AUDIT_ACTION = Choices(
    "audit_action",
    ("create", lazy_pgettext("operation log action", "Created")),  # not the "Created" (time) of a column
    ("update", _l("Changed")),
    ("delete", _l("Deleted")),
    ("sign_in", _l("Signed in")),
    ("sign_in_failed", _l("Failed sign-in")),
    ("lockout", _l("Locked out")),
    ("sign_out", _l("Signed out")),
    ("sessions_ended", _l("Signed out other sessions")),
    ("export", _l("Exported")),
    ("download", _l("Downloaded an export")),
    ("refused", _l("Refused")),
    ("bulk_insert", _l("Bulk load")),
    ("personal_data_erased", _l("Personal data erased")),
    ("log_resealed", _l("Log re-sealed")),
    ("merge", _l("Merged customers")),
    ("merge_undone", _l("Merge undone")),
    ("duplicate_saved", _l("Saved despite a duplicate mobile or e-mail")),
    ("import", _l("Imported a file")),
    ("import_undone", _l("Undid an import")),
    ("file_uploaded", _l("Attached a file")),
    ("file_downloaded", _l("Downloaded a file")),
    ("file_deleted", _l("Deleted a file")),
    ("follow_up_rescheduled", _l("Follow-up rescheduled")),
    ("two_factor_on", _l("Turned on two-factor sign-in")),
    ("two_factor_off", _l("Turned off two-factor sign-in")),
    ("two_factor_failed", _l("Wrong sign-in code")),
    ("two_factor_recovery_used", _l("Used a recovery code")),
    ("two_factor_codes_renewed", _l("Got new recovery codes")),
    ("two_factor_reset", _l("Reset two-factor sign-in")),
)
AUDIT_SOURCE = Choices("audit_source", ("web", _l("Web panel")), ("cli", _l("Command line")), ("job", _l("Job worker")),
                       ("system", _l("System")))
RECORD_TYPE = Choices(  # table names, as the operation log stores them
    "record_type",
    ("job", _l("Job")),
    ("customer", _l("Customer")),
    ("transaction", _l("Transaction")),
    ("interaction", _l("Interaction")),
    ("complaint", _l("Complaint")),
    ("complaint_step", _l("Complaint step")),
    ("campaign", _l("Campaign")),
    ("campaign_participant", _l("Campaign participant")),
    ("user", _l("User")),
    ("role", _l("Role")),
    ("setting", _l("Rule setting")),
    ("survey_response", _l("Survey response")),
    ("personal_data_request", _l("Personal data request")),
)
LANGUAGE = Choices("language", ("en", "English"), ("zh_CN", "简体中文"))  # each named in itself, as the switch does
PERSONAL_DATA_REQUEST = Choices(
    "personal_data_request_kind", ("correction", _l("Correction")), ("erasure", _l("Erasure")))
