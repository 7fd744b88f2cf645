"""Sign-in, sign-out and the language switch."""
from urllib.parse import urljoin, urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from ..extensions import db
from ..models import User, utcnow
from .forms import LanguageForm, LoginForm
from .passwords import dummy_verify, verify_password

bp = Blueprint("auth", __name__)


def safe_next(target: str | None, default: str) -> str:
    """Follow `next` only when it stays on this host, so the login page is no open redirect."""
    if not target:
        return default
    host = urlsplit(request.host_url)
    test = urlsplit(urljoin(request.host_url, target))
    if test.scheme in ("http", "https") and test.netloc == host.netloc and not target.startswith("//"):
        return target
    return default


@bp.route("/login", methods=["GET", "POST"])
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
            chosen_language = session.get("language")
            session.clear()  # a fresh session at sign-in: nothing planted before it survives
            if chosen_language:
                session["language"] = chosen_language
            login_user(user)
            user.last_login_at = utcnow()
            db.session.commit()
            return redirect(safe_next(form.next.data, home))
        flash(_("Invalid user name or password."), "danger")
    return render_template("auth/login.html", form=form), 200


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    user = db.session.get(User, current_user.id)
    user.end_sessions()  # a copied cookie stops working too
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
        user.locale = form.language.data
        db.session.commit()
    return redirect(safe_next(form.next.data, url_for("admin.index")))
