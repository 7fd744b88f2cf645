"""Sign-in, sign-out and the language switch."""
import unicodedata
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from ..audit import log_event, log_event_now
from ..extensions import db
from ..models import User, utcnow
from . import throttle, two_factor
from .forms import CodeForm, LanguageForm, LoginForm
from .passwords import dummy_verify, verify_password
from .sessions import end_this_session, start_session

bp = Blueprint("auth", __name__)


def safe_next(target: str | None, default: str) -> str:
    """Follow `next` only to a plain path on this site: browsers read `\\` as `/` and drop control characters."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(unicodedata.category(char).startswith("C") for char in target):
        return default
    parts = urlsplit(target.replace("\\", "/"))
    if parts.scheme or parts.netloc:
        return default
    return target


def _commit_bookkeeping(user, change, attempts: int = 5) -> None:
    """Sign-in time and language on the user's row: a sign-in of the same user elsewhere that saved the row meanwhile
    (its version moved on) is no conflict; apply the change again to the row as it now is."""
    for attempt in range(attempts):
        try:
            if attempt:
                db.session.refresh(user)  # its current version, before changing it again
            change()
            db.session.commit()
            return
        except StaleDataError:
            db.session.rollback()
            if attempt == attempts - 1:
                raise


@bp.route("/login", methods=["GET", "POST"])
@throttle.sign_in_per_name
@throttle.sign_in_per_address
def login():
    home = url_for("admin.index")
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), home))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
        if user is None:
            dummy_verify(form.password.data)
        if user is not None and user.active and verify_password(user.password_hash, form.password.data):
            if user.two_factor_on:  # half way: nothing is granted until the code step
                two_factor.begin_code_step(user, safe_next(form.next.data, home))
                return redirect(url_for("auth.sign_in_code"))
            start_session(user)
            _commit_bookkeeping(user, lambda: (setattr(user, "last_login_at", utcnow()),
                                         log_event(db.session, "sign_in", record=user)))
            if user.two_factor_required:  # the role asks for a second factor this user has not set up yet
                return redirect(url_for("account.two_factor"))
            return redirect(safe_next(form.next.data, home))
        throttle.record_failure()
        log_event_now("sign_in_failed", record=user, details={"username": form.username.data.strip()[:64]})
        flash(_("Invalid user name or password."), "danger")
    return render_template("auth/login.html", form=form), 200


@bp.route("/login/code", methods=["GET", "POST"])
@throttle.sign_in_per_name
@throttle.sign_in_per_address
def sign_in_code():
    """The second step: a code from the user's authenticator app, or one of their recovery codes."""
    user, next_url = two_factor.pending_sign_in()
    if user is None:
        if current_user.is_authenticated:
            return redirect(url_for("admin.index"))
        flash(_("Your sign-in took too long or was interrupted. Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        step = two_factor.matching_step(user.totp_secret, form.code.data, user.totp_last_step)
        how = "authenticator" if step is not None and two_factor.accept_step(user, step) else None
        if how is None and step is None and two_factor.use_recovery_code(user, form.code.data):
            how = "recovery_code"
            log_event(db.session, "two_factor_recovery_used", record=user,
                      details={"left": db.session.scalar(two_factor.recovery_codes_left(user.id))})
        if how:
            db.session.commit()
            start_session(user)
            _commit_bookkeeping(user, lambda: (setattr(user, "last_login_at", utcnow()),
                                         log_event(db.session, "sign_in", record=user, details={"second_factor": how})))
            if how == "recovery_code":
                flash(_("You signed in with a recovery code; it cannot be used again. Codes left: %(left)d.",
                        left=db.session.scalar(two_factor.recovery_codes_left(user.id))), "warning")
            return redirect(safe_next(next_url, url_for("admin.index")))
        db.session.rollback()
        throttle.record_failure()
        log_event_now("two_factor_failed", record=user)
        flash(_("This code is not valid. Type the code your app shows now, or an unused recovery code."), "danger")
    return render_template("auth/code.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    user = db.session.get(User, current_user.id)
    end_this_session()  # a copied cookie stops working too; the user's other sessions go on
    log_event(db.session, "sign_out", record=user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def set_language():
    form = LanguageForm()
    if not form.validate_on_submit() or form.language.data not in current_app.config["LANGUAGES"]:
        abort(400)
    session["language"] = form.language.data
    if current_user.is_authenticated:
        user = db.session.get(User, current_user.id)
        _commit_bookkeeping(user, lambda: setattr(user, "locale", form.language.data))
    return redirect(safe_next(form.next.data, url_for("admin.index")))
