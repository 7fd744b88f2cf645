"""The operation log: every change recorded in its own transaction, with who, when and from where."""
import getpass
import re
import shlex
import sys
import uuid

from flask import Flask, g, has_request_context, request
from flask_login import current_user

from .context import Actor, bind, register_provider, reset
from .recorder import listen, log_event, log_event_now

__all__ = ["Actor", "bind", "cli_actor", "init_app", "log_event", "log_event_now", "reset"]
REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{8,36}$")


def _request_id() -> str:
    """The proxy's X-Request-ID when it looks like one, else our own; it is also the request's batch."""
    if "crm_request_id" not in g:
        given = request.headers.get("X-Request-ID", "")
        g.crm_request_id = given if REQUEST_ID.match(given) else str(uuid.uuid4())
    return g.crm_request_id


def web_actor() -> Actor | None:
    if not has_request_context():
        return None
    user = current_user if current_user and current_user.is_authenticated else None
    request_id = _request_id()
    return Actor(actor=user.username if user else "anonymous", actor_id=user.id if user else None, source="web",
                 command=f"{request.method} {request.path}"[:255], ip=request.remote_addr,
                 user_agent=(request.user_agent.string or "")[:255] or None, request_id=request_id,
                 batch_id=request_id)


def cli_actor() -> Actor:
    """The operating-system user and the command line: who ran a `flask crm ...` command."""
    try:
        operator = getpass.getuser()
    except Exception:
        operator = "unknown"
    return Actor(actor=f"cli:{operator}", source="cli", command=shlex.join(sys.argv)[:255])


def init_app(app: Flask) -> None:
    listen()
    register_provider(web_actor)

    @app.after_request
    def expose_request_id(response):
        if "crm_request_id" in g:
            response.headers["X-Request-ID"] = g.crm_request_id
        return response
