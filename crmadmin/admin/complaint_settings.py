"""Complaint due times (hours to first response and to resolution per urgency), edited by administrators."""
from dataclasses import asdict

from flask import flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from ..complaints.deadlines import PREFIX, Deadlines, load
from ..extensions import db
from ..models import Setting
from . import uniqueness
from .base import AccessMixin

MAX_HOURS = 24 * 365
GROUPS = [
    (_l("Urgent"), [("respond_hours_urgent", _l("First response within (hours)"), 1, MAX_HOURS),
                    ("resolve_hours_urgent", _l("Resolved within (hours)"), 1, MAX_HOURS)]),
    (_l("Normal"), [("respond_hours_normal", _l("First response within (hours)"), 1, MAX_HOURS),
                    ("resolve_hours_normal", _l("Resolved within (hours)"), 1, MAX_HOURS)]),
    (_l("Common question"), [("respond_hours_common_question", _l("First response within (hours)"), 1, MAX_HOURS),
                             ("resolve_hours_common_question", _l("Resolved within (hours)"), 1, MAX_HOURS)]),
    (_l("Major complaints"), [("resolve_hours_major", _l("Resolved within (hours), or sooner if the urgency says so"),
                               1, MAX_HOURS)]),
]
URGENCIES = ("urgent", "normal", "common_question")


class DeadlinesForm(FlaskForm):
    def validate(self, extra_validators=None) -> bool:
        """A complaint cannot be due for resolution before its first response is due."""
        if not super().validate(extra_validators):
            return False
        ok = True
        for urgency in URGENCIES:
            respond, resolve = self[f"respond_hours_{urgency}"], self[f"resolve_hours_{urgency}"]
            if resolve.data < respond.data:
                resolve.errors.append(_("Resolution cannot be due before the first response."))
                ok = False
        return ok


for _group, _fields in GROUPS:
    for _name, _label, _low, _high in _fields:
        setattr(DeadlinesForm, _name, IntegerField(_label, validators=[InputRequired(), NumberRange(_low, _high)]))


class ComplaintDeadlinesView(AccessMixin, BaseView):
    """No permission declared: administrators only (AccessMixin)."""

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = DeadlinesForm(data=asdict(load(db.session)))
        if form.validate_on_submit():
            with db.session.no_autoflush:  # every key read before any is written: a clash surfaces at the commit
                for name in Deadlines.names():
                    key, text = PREFIX + name, str(form[name].data)
                    setting = db.session.get(Setting, key)
                    if setting is None:
                        db.session.add(Setting(key=key, value=text))
                    elif setting.value != text:
                        setting.value = text
            if uniqueness.commit(db.session):  # one transaction, in the operation log
                flash(_("Due times saved. They apply to complaints registered or reclassified from now on."),
                      "success")
                return redirect(url_for(".index"))
        for field in form:
            field.errors = [str(e) for e in field.errors]
        return self.render("admin/settings.html", form=form, groups=GROUPS, title=_("Complaint due times"),
                           note=_("Hours count from when the complaint was received. Complaints registered or "
                                  "reclassified from now on get the new due times; deadlines already given stay."),
                           submit=_("Save"))
