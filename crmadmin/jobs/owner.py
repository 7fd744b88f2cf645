"""A job runs as the user who asked for it: one way to sign them in inside the worker, for every kind of job.

The worker has no request; the work (a list's rows, an import's checks, a screen's rule) reads the user, their
language and their data scope from one, so the job rebuilds it, and the operation log names them with the source
`job` and the job's number. A user removed or deactivated since is refused with the job's own reason.
"""
from contextlib import contextmanager

from flask import Flask, session
from flask_login import login_user

from ..audit.context import Actor, bind, reset
from ..extensions import db
from ..models import User
from . import records


@contextmanager
def signed_in(app: Flask, job, params: dict, path: str, refusal: str, query_string=None):
    """A request context at `path` as the job's owner, in the language they asked in, their changes logged as this
    job's; records.Refused(refusal) if they may no longer sign in. The session is removed on the way out."""
    with app.test_request_context(path, query_string=query_string):
        try:
            user = db.session.get(User, job.owner_id)
            if user is None or not user.is_active:
                raise records.Refused(refusal)
            session["language"] = params.get("locale")
            login_user(user)
            token = bind(Actor(actor=user.username, actor_id=user.id, source="job", command=f"job {job.id}"))
            try:
                yield user
            finally:
                reset(token)
        finally:
            db.session.remove()
