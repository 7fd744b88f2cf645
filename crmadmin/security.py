"""Response headers that keep the panel's pages from being framed, sniffed, injected into, cached or asked for over HTTP."""
import base64
import hashlib
import secrets

from flask import Flask, current_app, g, request, session
from flask_babel import force_locale
from werkzeug.middleware.proxy_fix import ProxyFix


def csp_nonce() -> str:
    """One nonce per request: only the scripts our templates mark with it may run."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def flask_admin_handlers() -> list[str]:
    """Flask-Admin's own inline handlers (delete confirmation, actions, filter links), which no nonce can cover."""
    # Allowed by the hash of their exact text: they keep working while any other handler, injected or not, is blocked.
    from flask_admin.babel import gettext as admin_gettext

    handlers = {"return false;", "javascript:void(0)"}
    for language in current_app.config["LANGUAGES"]:
        with force_locale(language):
            question = admin_gettext("Are you sure you want to delete this record?")
        handlers.add(f"return faHelpers.safeConfirm('{question}');")
    for admin in current_app.extensions.get("admin", []):
        for view in admin._views:
            for name, _text in getattr(view, "_actions", ()):
                handlers.add(f"return modelActions.execute('{name}');")
    return sorted(handlers)


def _handler_hashes() -> str:
    hashes = current_app.extensions.get("csp_handler_hashes")
    if hashes is None:  # the views and their actions exist only once create_app has finished
        hashes = current_app.extensions["csp_handler_hashes"] = " ".join(map(_sha256, flask_admin_handlers()))
    return hashes


def content_security_policy(nonce: str) -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}' 'unsafe-hashes' {_handler_hashes()}",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _is_static() -> bool:
    return (request.endpoint or "").rsplit(".", 1)[-1] == "static"


def add_headers(response):
    headers = response.headers
    if "Content-Security-Policy" not in headers:  # a response may set a stricter one (a downloaded file: sandbox)
        headers["Content-Security-Policy"] = content_security_policy(csp_nonce())
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    hsts = current_app.config.get("CRM_HSTS_SECONDS")
    if hsts and request.is_secure:  # over plain HTTP a browser ignores it, and an attacker could strip it anyway
        headers["Strict-Transport-Security"] = f"max-age={hsts}"
    # pages of a signed-in user carry personal data; asked of the session cookie, not of the database (which may be
    # away: an error here, after the view, would be a 500 and a traceback instead of the outage page)
    if not _is_static() and "_user_id" in session:
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.extensions["csp_nonce"] = csp_nonce
    app.after_request(add_headers)
    hops = app.config.get("CRM_PROXY_HOPS", 0)
    if hops:  # the client's address (sign-in limits) and scheme as the trusted proxies saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
