"""Error pages that say what happened in the user's language and never show SQL or tracebacks."""
import functools
import logging

from flask import Flask, Response, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import SecurityError

from .audit import log_event_now
from .extensions import db
from .outages import OUTAGE_ERRORS, unavailable

log = logging.getLogger(__name__)


def calm(handler):
    """An error page needs the database too (who the user is, their language; the refusal logged): while it is away,
    the outage page instead of an error inside the error handler (a bare 500 and a traceback, even for a 404)."""
    @functools.wraps(handler)
    def handle(error):
        try:
            return handler(error)
        except OUTAGE_ERRORS as outage:
            return unavailable(outage)
    return handle


def init_app(app: Flask) -> None:
    def page(code: int, title: str, message: str):
        return render_template("error.html", code=code, title=title, message=message), code

    @app.errorhandler(400)
    @calm
    def bad_request(error):
        db.session.rollback()
        return page(400, _("Bad request"), _("The request could not be understood. If you submitted a form, reload it and try again."))

    @app.errorhandler(SecurityError)
    def untrusted_host(error):
        """A Host not in CRM_ALLOWED_HOSTS: no page, since every link on one would be built on the forged host."""
        db.session.rollback()
        return Response(_("Bad request: this server does not answer to that host name."), 400, mimetype="text/plain")

    @app.errorhandler(403)
    @calm
    def forbidden(error):
        db.session.rollback()
        # the query decoded, not in the path's URL encoding: a search in it may name a customer, and an erasure
        # finds and erases that name in the log only as it was typed
        details = {"method": request.method, "path": request.path, "endpoint": request.endpoint}
        if request.args:
            details["query"] = request.args.to_dict(flat=False)
        log_event_now("refused", details=details)
        return page(403, _("Not allowed"), _("You do not have permission to do this. Nothing was changed."))

    @app.errorhandler(404)
    @calm
    def not_found(error):
        return page(404, _("Not found"), _("This page or record does not exist."))

    @app.errorhandler(413)
    @calm
    def too_large(error):
        return page(413, _("Too large"), _("The upload is larger than allowed."))

    @app.errorhandler(500)
    @calm
    def server_error(error):
        db.session.rollback()
        log.error("Unhandled error: %s", getattr(error, "original_exception", error))
        return page(500, _("Something went wrong"), _("The request failed and nothing was changed. Please try again or tell your administrator."))

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    @calm
    def csrf_error(error):
        db.session.rollback()
        return page(400, _("Form expired"), _("The form has expired or was not sent by this site. Reload the page and try again. Nothing was changed."))
