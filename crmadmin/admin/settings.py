"""Standing rules (tier thresholds, lifecycle, follow-up cadence): edited by administrators, applied to everyone."""
from dataclasses import asdict

from flask import flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField
from wtforms.validators import InputRequired, NumberRange, Optional

from ..extensions import db
from ..jobs import rules as rules_job
from ..models import Setting
from ..standing.maintain import load_rules
from ..standing.rules import Rules
from . import uniqueness
from .base import AccessMixin
from .job_start import start_job

# (rule, label, minimum, maximum): grouped as the form shows them
GROUPS = [
    (_l("Value tiers (paid purchases in the window)"), [
        ("window_months", _l("Window (months)"), 1, 60),
        ("high_min_amount", _l("High value: minimum spent"), 0, 10**9),
        ("high_min_orders", _l("High value: minimum orders"), 1, 10**6),
        ("high_max_days_since", _l("High value: last purchase at most (days ago)"), 1, 3650),
        ("medium_min_amount", _l("Medium value: minimum spent"), 0, 10**9),
        ("medium_min_orders", _l("Medium value: minimum orders"), 1, 10**6),
        ("medium_max_days_since", _l("Medium value: last purchase at most (days ago)"), 1, 3650),
    ]),
    (_l("Lifecycle and churn warning"), [
        ("new_days", _l("New: first purchase at most (days ago)"), 1, 3650),
        ("loyal_min_orders", _l("Loyal: at least this many purchases"), 2, 10**6),
        ("loyal_min_span_days", _l("Loyal: over at least (days)"), 1, 3650),
        ("at_risk_factor", _l("At risk: silent for this many times their usual interval"), 1, 100),
        ("at_risk_min_days", _l("At risk: but not before (days without purchase)"), 1, 3650),
        ("spend_drop_percent", _l("At risk: spend fell by at least (%)"), 1, 100),
        ("churned_days", _l("Churned: no purchase for (days)"), 2, 3650),
    ]),
    (_l("Follow-ups (contact at least every …)"), [
        ("follow_up_days", _l("Default cadence (days)"), 1, 365),
        ("follow_up_days_high", _l("High value customers (days, blank: default)"), 1, 365),
        ("follow_up_days_medium", _l("Medium value customers (days, blank: default)"), 1, 365),
        ("follow_up_days_low", _l("Low value customers (days, blank: default)"), 1, 365),
    ]),
]


def _field(name, label, low, high):
    kind = Rules.__dataclass_fields__[name].type
    required = Optional() if "None" in str(kind) else InputRequired()
    if "Decimal" in str(kind):
        return DecimalField(label, places=2, validators=[required, NumberRange(min=low, max=high)])
    return IntegerField(label, validators=[required, NumberRange(min=low, max=high)])


class RulesForm(FlaskForm):
    def validate(self, extra_validators=None) -> bool:
        """Thresholds must be in order, or tiers and stages would contradict each other."""
        if not super().validate(extra_validators):
            return False
        checks = [
            ("high_min_amount", self.high_min_amount.data >= self.medium_min_amount.data,
             _("The high value minimum cannot be below the medium value minimum.")),
            ("high_min_orders", self.high_min_orders.data >= self.medium_min_orders.data,
             _("High value cannot need fewer orders than medium value.")),
            ("high_max_days_since", self.high_max_days_since.data <= self.medium_max_days_since.data,
             _("High value cannot allow a longer silence than medium value.")),
            ("churned_days", self.churned_days.data > self.at_risk_min_days.data,
             _("Churned must come after at risk: more days than the at-risk minimum.")),
        ]
        ok = True
        for name, holds, message in checks:
            if not holds:
                getattr(self, name).errors.append(message)
                ok = False
        return ok


for _group, _rules in GROUPS:
    for _name, _label, _low, _high in _rules:
        setattr(RulesForm, _name, _field(_name, _label, _low, _high))


class SettingsView(AccessMixin, BaseView):
    """No permission declared: administrators only (AccessMixin)."""

    @expose("/", methods=("GET", "POST"))
    def index(self):
        current = load_rules(db.session.connection())
        form = RulesForm(data=asdict(current))
        if form.validate_on_submit():
            with db.session.no_autoflush:  # every key read before any is written: a clash surfaces at the commit
                for name in Rules.names():
                    value = getattr(form, name).data
                    text = "" if value is None else str(value)
                    setting = db.session.get(Setting, name)
                    if setting is None:
                        db.session.add(Setting(key=name, value=text))
                    elif setting.value != text:
                        setting.value = text
            if uniqueness.commit(db.session):  # one transaction, in the operation log; the job applies it
                start_job(rules_job.KIND, {}, rules_job.QUEUED_KEY)  # a minute at a million customers: a job
                flash(_("Settings saved. They are being applied to every customer by a job; this page links to "
                        "it until it ends."), "success")
                return redirect(url_for(".index"))
        for field in form:
            field.errors = [str(e) for e in field.errors]
        with db.engine.connect() as connection:
            applying = rules_job.active_job(connection)
        return self.render("admin/settings.html", form=form, groups=GROUPS,
                           applying=url_for("jobs.job_view", id=applying.id) if applying else None)
