"""A user's own account: their time zone, and changing their password (which ends every other session they have)."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..models import User
from . import throttle
from ..localtime import business_zone, valid_zone, zone_choices, zone_label
from .forms import PasswordChangeForm, TimezoneForm
from .passwords import hash_password, policy_problems, verify_password
from .sessions import start_session

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/password", methods=["GET", "POST"])
@login_required
@throttle.password_change
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = db.session.get(User, current_user.id)
        if not verify_password(user.password_hash, form.current_password.data):
            throttle.record_failure()
            form.current_password.errors.append(_("This is not your current password."))
        else:
            problems = policy_problems(form.new_password.data, user.username, user.display_name, user.email)
            if form.new_password.data == form.current_password.data:
                problems.append(_("Choose a password different from the current one."))
            form.new_password.errors.extend(problems)
            if not problems:
                user.password_hash = hash_password(form.new_password.data)
                user.end_sessions()  # a cookie copied anywhere stops working
                db.session.commit()
                start_session(user)  # this browser stays signed in, on a new session with the new token
                flash(_("Your password has been changed. Your other sessions have been signed out."), "success")
                return redirect(url_for("admin.index"))
    return render_template("auth/password.html", form=form)


@bp.route("/", methods=["GET", "POST"])
@login_required
def settings():
    """The user's own time zone: every time they read or type is in it; none chosen, the business zone's."""
    form = TimezoneForm()
    business = zone_label(business_zone())
    form.timezone.choices = [("", _("The business time zone: %(zone)s", zone=business))] + \
        zone_choices()
    if form.validate_on_submit():
        user = db.session.get(User, current_user.id)
        user.timezone = form.timezone.data or None
        db.session.commit()
        flash(_("Times are now shown and entered in %(zone)s.", zone=zone_label(valid_zone(user.timezone)) if user.timezone else business), "success")
        return redirect(url_for("account.settings"))
    if not form.is_submitted():
        form.timezone.data = current_user.timezone or ""
    return render_template("auth/account.html", form=form, business=business)
