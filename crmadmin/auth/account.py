"""A user's own account: their time zone, their signed-in sessions (any other of which they may sign out), their
password and their second factor (changing either of the last two ends every other session they have)."""
from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user, login_required
from markupsafe import Markup

from ..audit import log_event
from ..extensions import db
from ..models import User
from . import agents, throttle, two_factor as factor
from ..localtime import business_zone, valid_zone, zone_choices, zone_label
from .forms import (EndSessionForm, PasswordChangeForm, RecoveryCodesForm, TimezoneForm, TwoFactorOffForm,
                    TwoFactorSetUpForm)
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
    return render_template("auth/account.html", form=form, business=business, sessions=signed_in,
                           two_factor_on=current_user.two_factor_on)


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


@bp.route("/two-factor", methods=["GET", "POST"], endpoint="two_factor")
@login_required
def two_factor_set_up():
    """Set-up: a QR code and the secret as text for the app, then one code to prove the app has it."""
    user = db.session.get(User, current_user.id)
    if user.two_factor_on:
        return _two_factor_on_page(user)
    # the candidate secret lives in this session only until a code confirms it (then in the database, never shown)
    secret = session.get(factor.SETUP_SECRET) or factor.new_secret()
    session[factor.SETUP_SECRET] = secret
    form = TwoFactorSetUpForm()
    if form.validate_on_submit():
        step = factor.matching_step(secret, form.code.data, None)
        if step is not None:
            codes = factor.turn_on(user, secret, step)
            log_event(db.session, "two_factor_on", record=user)
            end_other_sessions(user)  # also leaves the candidate secret behind with the old session
            db.session.commit()
            return render_template("auth/recovery_codes.html", codes=codes, renewed=False)
        form.code.errors.append(_("This code is not valid. Type the code your app shows now."))
    qr = Markup(factor.qr_svg(factor.provisioning_uri(secret, user.username),
                              _("QR code to scan with your authenticator app")))
    return render_template("auth/two_factor_setup.html", form=form, qr=qr, secret=factor.grouped(secret),
                           required=user.two_factor_required)


def _two_factor_on_page(user: User, off_form=None, codes_form=None):
    """The page of a user whose second factor is on: new recovery codes, or turning it off (each asks for proof)."""
    left = db.session.scalar(factor.recovery_codes_left(user.id))
    return render_template("auth/two_factor_on.html", form=off_form or TwoFactorOffForm(),
                           codes_form=codes_form or RecoveryCodesForm(prefix="codes"), left=left)


def _proves_it_is_them(user: User, typed: str) -> bool:
    """The password or a current code (spent): a session left open on someone's desk is not enough."""
    step = factor.matching_step(user.totp_secret, typed, user.totp_last_step)
    return verify_password(user.password_hash, typed) or (step is not None and factor.accept_step(user, step))


_REFUSED = _l("This is neither your password nor a current code. Nothing was changed.")


@bp.route("/two-factor/off", methods=["POST"])
@login_required
@throttle.password_change
def two_factor_off():
    """Turning it off asks for the password or a current code; the user's other sessions end."""
    user = db.session.get(User, current_user.id)
    form = TwoFactorOffForm()
    if not user.two_factor_on:
        return redirect(url_for("account.two_factor"))
    if form.validate_on_submit():
        if _proves_it_is_them(user, form.password.data):
            factor.turn_off(user)
            log_event(db.session, "two_factor_off", record=user)
            end_other_sessions(user)
            db.session.commit()
            flash(_("Two-factor sign-in is off. Your other sessions have been signed out."), "success")
            if user.two_factor_required:
                flash(_("Your role requires two-factor sign-in: set it up again to go on."), "info")
            return redirect(url_for("account.two_factor") if user.two_factor_required else url_for("account.settings"))
        db.session.rollback()
        throttle.record_failure()
        form.password.errors.append(str(_REFUSED))
    return _two_factor_on_page(user, off_form=form)


@bp.route("/two-factor/recovery-codes", methods=["POST"])
@login_required
@throttle.password_change
def new_recovery_codes():
    """Ten new recovery codes, the old ones void: for a list used up, lost or seen by someone else."""
    user = db.session.get(User, current_user.id)
    form = RecoveryCodesForm(prefix="codes")
    if not user.two_factor_on:
        return redirect(url_for("account.two_factor"))
    if form.validate_on_submit():
        if _proves_it_is_them(user, form.password.data):
            codes = factor.new_recovery_codes(user)
            log_event(db.session, "two_factor_codes_renewed", record=user)
            db.session.commit()
            return render_template("auth/recovery_codes.html", codes=codes, renewed=True)
        db.session.rollback()
        throttle.record_failure()
        form.password.errors.append(str(_REFUSED))
    return _two_factor_on_page(user, codes_form=form)
