"""Signed-in sessions: a row for each (user_session), a fresh one at sign-in, and an end to one left idle, kept too
long, signed out, or ended from another of the user's sessions.

The cookie holds the session's random token as Flask-Login's user id; the table holds its hash. Ending a session
deletes its row, so its cookie, wherever copied, is refused at its next request (auth.load_user finds no row).
"""
import time
from datetime import datetime, timedelta

from flask import Flask, current_app, flash, redirect, request, session
from flask_babel import gettext as _
from flask_login import login_url, login_user
from sqlalchemy import Select, and_, delete, not_, select, update
from sqlalchemy.exc import OperationalError

from ..extensions import db
from ..models import UserSession, utcnow
from ..models.user_session import new_session_token, token_hash

# Seconds since the epoch, kept in the signed session cookie (so they cannot be forged).
SIGNED_IN_AT = "crm_signed_in_at"
SEEN_AT = "crm_seen_at"
# When this browser last wrote its row's last_seen_at: the row is written once a minute of use, not per request.
WRITTEN_AT = "crm_seen_written_at"
WRITE_EVERY = 60  # seconds
# The row's limits are the cookie's plus this: last_seen_at lags up to a minute, and hosts' clocks differ a little.
MARGIN = timedelta(minutes=5)


def _current_token() -> str | None:
    """This request's session token, as Flask-Login keeps it in the cookie."""
    return session.get("_user_id")


def alive(now: datetime | None = None):
    """A session row within its idle and absolute limits: the user loader accepts it, the account page lists it,
    and a sign-in deletes the others."""
    cfg = current_app.config
    now = now or utcnow()
    return and_(UserSession.last_seen_at > now - timedelta(minutes=cfg["CRM_IDLE_MINUTES"]) - MARGIN,
                UserSession.signed_in_at > now - timedelta(hours=cfg["CRM_SESSION_HOURS"]) - MARGIN)


def start_session(user) -> None:
    """Sign `user` in on a brand-new session (a new row, committed): nothing planted before it survives, except the
    chosen language. The sessions of anyone that expired are deleted meanwhile: the table holds live ones only."""
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language
    token, now = new_session_token(), utcnow()
    db.session.execute(delete(UserSession).where(not_(alive(now))), execution_options={"synchronize_session": False})
    db.session.add(UserSession(token_hash=token_hash(token), user_id=user.id, signed_in_at=now, last_seen_at=now,
                               ip=request.remote_addr, user_agent=(request.user_agent.string or "")[:255] or None))
    db.session.commit()
    user.__dict__["_session_token"] = token  # what get_id() answers, and so what login_user puts in the cookie
    login_user(user)
    stamp = int(time.time())
    session[SIGNED_IN_AT] = stamp
    session[SEEN_AT] = stamp
    session[WRITTEN_AT] = stamp


def end_this_session() -> None:
    """Sign-out: delete this request's row, with the caller's commit."""
    db.session.execute(delete(UserSession).where(UserSession.token_hash == token_hash(_current_token())),
                       execution_options={"synchronize_session": False})


def sessions_of(user_id: int) -> Select:
    """The user's live sessions, each marked `current` if it is this request's: this one first, then the others as
    last used."""
    current = (UserSession.token_hash == token_hash(_current_token())).label("current")
    return (select(UserSession.id, UserSession.signed_in_at, UserSession.last_seen_at, UserSession.ip,
                   UserSession.user_agent, current)
            .where(UserSession.user_id == user_id, alive())
            .order_by(current.desc(), UserSession.last_seen_at.desc(), UserSession.id.desc()))


def end_one_other_session(user, session_id: int) -> UserSession | None:
    """End one of the user's other sessions, with the caller's commit; None if it is not theirs, is this one, or has
    ended already (one answer for all three: an id tells nobody whose session it is)."""
    row = db.session.scalar(select(UserSession).where(
        UserSession.id == session_id, UserSession.user_id == user.id,
        UserSession.token_hash != token_hash(_current_token())))
    if row is not None:
        db.session.delete(row)
    return row


def _expired(now: int) -> bool:
    cfg = current_app.config
    idle = now - session.get(SEEN_AT, 0) > cfg["CRM_IDLE_MINUTES"] * 60
    too_old = now - session.get(SIGNED_IN_AT, 0) > cfg["CRM_SESSION_HOURS"] * 3600
    return idle or too_old


def _on_own(statement) -> None:
    """A write of the session row in a transaction of its own, before the request's work begins."""
    with db.engine.begin() as connection:
        connection.execute(statement)


def check_session():
    """Sign out a session past its idle or absolute limit (its row ends too); otherwise note that it was just used:
    in the cookie at every request, in its row at most once a minute."""
    if "_user_id" not in session or (request.endpoint or "").rsplit(".", 1)[-1] == "static":
        return None
    now = int(time.time())
    table = UserSession.__table__
    mine = table.c.token_hash == token_hash(_current_token())
    if _expired(now):
        _on_own(delete(table).where(mine))
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
    if now - session.get(WRITTEN_AT, 0) >= WRITE_EVERY:
        # several workers and hosts may serve this session at once: the condition lets one of them write
        moment = utcnow()
        session[WRITTEN_AT] = now
        try:
            _on_own(update(table).where(mine, table.c.last_seen_at < moment - timedelta(seconds=WRITE_EVERY / 2))
                    .values(last_seen_at=moment))
        except OperationalError:  # SQLite's one write lock held by a long job (an import): noted a minute later
            pass
    return None


def init_app(app: Flask) -> None:
    app.before_request(check_session)


def end_other_sessions(user) -> int:
    """End every session of `user` but this request's (after a change of how they sign in, or at their wish), with
    the caller's commit; how many ended."""
    return db.session.execute(
        delete(UserSession).where(UserSession.user_id == user.id,
                                  UserSession.token_hash != token_hash(_current_token())),
        execution_options={"synchronize_session": False}).rowcount
