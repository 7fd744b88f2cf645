"""A user's own account: their time zone, their signed-in sessions (any other of which they may sign out), and
changing their password (which ends every other session they have)."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required

from ..audit import log_event
from ..extensions import db
from ..models import User
from . import agents, throttle
from ..localtime import business_zone, valid_zone, zone_choices, zone_label
from .forms import EndSessionForm, PasswordChangeForm, TimezoneForm
from .passwords import hash_password, policy_problems, verify_password
from .sessions import end_one_other_session, end_other_sessions, sessions_of, start_session

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
    signed_in = [dict(row._mapping, label=agents.describe(row.user_agent))
                 for row in db.session.execute(sessions_of(current_user.id))]
    return render_template("auth/account.html", form=form, business=business, sessions=signed_in)


def _to_sessions():
    return redirect(url_for("account.settings", _anchor="sessions"))


@bp.route("/sessions/end", methods=["POST"])
@login_required
def end_session():
    """Sign out one of the user's other sessions: its cookie, wherever it is, is refused from its next request."""
    form = EndSessionForm()
    if not form.validate_on_submit():
        flash(_("Choose a session to sign out."), "danger")
        return _to_sessions()
    user = db.session.get(User, current_user.id)
    ended = end_one_other_session(user, form.session.data)
    if ended is None:  # not theirs, this one, or gone already: one answer, and nothing changes
        flash(_("That session has already ended."), "warning")
        return _to_sessions()
    log_event(db.session, "sessions_ended", record=user,
              details={"ended_sessions": 1, "ip": ended.ip, "user_agent": ended.user_agent})
    db.session.commit()
    flash(_("The session of %(browser)s has been signed out.", browser=agents.describe(ended.user_agent)), "success")
    return _to_sessions()


@bp.route("/sessions/end-others", methods=["POST"])
@login_required
def end_others():
    """Sign out every session of the user but this one (a device lost or left signed in); the form carries nothing
    but its CSRF token, which CSRFProtect checks before this view runs."""
    user = db.session.get(User, current_user.id)
    count = end_other_sessions(user)
    if not count:
        flash(_("You have no other sessions."), "info")
        return _to_sessions()
    log_event(db.session, "sessions_ended", record=user, details={"ended_sessions": count})
    db.session.commit()
    flash(ngettext("%(num)d other session has been signed out.", "%(num)d other sessions have been signed out.",
                   count), "success")
    return _to_sessions()
