"""Signed-in sessions: a fresh one at sign-in, and an end to one left idle or kept too long."""
import time

from flask import Flask, current_app, flash, redirect, request, session
from flask_babel import gettext as _
from flask_login import login_url, login_user

# Seconds since the epoch, kept in the signed session cookie (so they cannot be forged).
SIGNED_IN_AT = "crm_signed_in_at"
SEEN_AT = "crm_seen_at"


def start_session(user) -> None:
    """Sign `user` in on a brand-new session: nothing planted before it survives, except the chosen language."""
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language
    login_user(user)
    now = int(time.time())
    session[SIGNED_IN_AT] = now
    session[SEEN_AT] = now


def _expired(now: int) -> bool:
    cfg = current_app.config
    idle = now - session.get(SEEN_AT, 0) > cfg["CRM_IDLE_MINUTES"] * 60
    too_old = now - session.get(SIGNED_IN_AT, 0) > cfg["CRM_SESSION_HOURS"] * 3600
    return idle or too_old


def check_session():
    """Sign out a session past its idle or absolute limit; otherwise note that it was just used."""
    if "_user_id" not in session or (request.endpoint or "").rsplit(".", 1)[-1] == "static":
        return None
    now = int(time.time())
    if _expired(now):
        message = _("Your session has expired. Please sign in again.")  # in the user's language, asked while known
        language = session.get("language")
        session.clear()
        if language:
            session["language"] = language
        flash(message, "info")
        resume = (request.full_path if request.query_string else request.path) if request.method == "GET" else None
        return redirect(login_url("auth.login", next_url=resume))
    if session.get(SEEN_AT) != now:
        session[SEEN_AT] = now
    return None


def init_app(app: Flask) -> None:
    app.before_request(check_session)


def end_other_sessions(user) -> None:
    """End every session of `user` but this request's: a cookie copied elsewhere stops working, this one goes on.

    Rotates the user's token (the caller commits) and signs this request in again under the new one.
    """
    user.end_sessions()
    language = session.get("language")
    signed_in_at = session.get(SIGNED_IN_AT)
    start_session(user)
    if signed_in_at:  # the session's absolute limit still counts from the password
        session[SIGNED_IN_AT] = signed_in_at
    if language:
        session["language"] = language
