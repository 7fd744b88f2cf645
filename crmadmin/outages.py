"""The database away (restarted, failed over, unreachable): which errors say so, and the calm 503 that answers them.

Such an error is not a bug of the request: it gets no traceback, no 500 page, and above all no sign-out (the user
loader raises it like any other query, it never reads it as "no such user"), so every session carries on once the
database answers again; the pool's pre-ping replaces the dead connections by itself."""
import logging
import sqlite3

from flask import Flask, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy import exc

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 15
# SQLite's OperationalError also means "no such table" or a syntax error: only these say the file is out of reach.
SQLITE_OUTAGES = ("database is locked", "unable to open database", "disk i/o error")
OUTAGE_ERRORS = (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError,
                 sqlite3.OperationalError)
try:  # the raw driver's error, when raised outside SQLAlchemy (psycopg is only installed for PostgreSQL)
    import psycopg
    OUTAGE_ERRORS += (psycopg.OperationalError, psycopg.InterfaceError)
except ImportError:  # pragma: no cover
    pass


def is_outage(error: BaseException) -> bool:
    """Does `error` mean the database is out of reach for now, rather than that this request is wrong?"""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, OUTAGE_ERRORS):
        return False  # an IntegrityError, a ProgrammingError, a DataError: the request's own fault, a 500 or a form
    original = getattr(error, "orig", error)
    if isinstance(original, sqlite3.Error):
        return any(words in str(original).lower() for words in SQLITE_OUTAGES)
    return True


def _reason(error: BaseException) -> str:
    """The driver's first line ('connection refused', 'database is locked'), without the statement or its values."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return f"{type(original).__name__}: {lines[0] if lines else ''}"


def unavailable(error: BaseException):
    """503, Retry-After and a page in the user's language; one log line; the session cookie left as it is."""
    if not is_outage(error):
        raise error  # not an outage: the usual 500 handling
    from .extensions import db, login_manager

    try:
        db.session.rollback()
    except exc.SQLAlchemyError:
        pass  # the connection is gone already; the pool replaces it
    # The page must not ask the database who the user is (the language switch, the locale): anonymous for this page
    # only. Nothing is written to the session, so the user is signed in again on the next request.
    g._login_user = login_manager.anonymous_user()
    log.warning("Database unavailable, answered 503: %s %s (%s)", request.method, request.path, _reason(error))
    page = render_template("error.html", code=503, title=_("Temporarily unavailable"),
                           message=_("The database cannot be reached at the moment, so nothing was read or changed. "
                                     "This page tries again by itself in a few seconds; if you are signed in, you stay signed in."),
                           refresh=RETRY_AFTER_SECONDS if request.method == "GET" else None)
    return page, 503, {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}


def init_app(app: Flask) -> None:
    for error_class in OUTAGE_ERRORS:
        app.register_error_handler(error_class, unavailable)
