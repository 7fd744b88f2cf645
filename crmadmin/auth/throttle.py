"""Wrong passwords lock a user name for a while, so nobody can guess one online; only failures count."""
import math
import time

from flask import current_app, g, make_response, render_template, request
from flask_babel import gettext as _
from flask_limiter import RequestLimit
from flask_login import current_user

from ..audit import log_event_now
from ..extensions import limiter


def record_failure() -> None:
    """Mark this request as a wrong password: the only thing the limits below count."""
    g.crm_wrong_password = True


def _wrong_password(response) -> bool:
    return bool(g.get("crm_wrong_password"))


def _address() -> str:
    return request.remote_addr or "unknown"


CODE_STEP = "auth.sign_in_code"  # the second step of sign-in (routes.py): counted with the password step


def _address_and_name() -> str:
    """One counter per (client address, user name): an attacker elsewhere cannot lock the owner out of their own machine.

    In the code step the name is the one whose password was right (kept in the signed session), not a form field."""
    if request.endpoint == CODE_STEP:
        from .two_factor import pending_username

        name = pending_username()
    else:
        name = request.form.get("username", "")
    return f"{_address()}|{name.strip().lower()[:64]}"


def _signed_in_user() -> str:
    return f"user:{current_user.id}"


def _minutes_left(request_limit: RequestLimit) -> int:
    """Until the oldest failure leaves the moving window and one more try is allowed."""
    return max(1, math.ceil((request_limit.window[0] - time.time()) / 60))


def _refused(template: str, request_limit: RequestLimit, **context):
    minutes = _minutes_left(request_limit)
    response = make_response(render_template(template, **context), 429)
    response.headers["Retry-After"] = str(minutes * 60)
    return response


def _sign_in_refused(request_limit: RequestLimit):
    """The sign-in page, answering 429 before any password is looked at (the same for every user name)."""
    from .forms import CodeForm, LoginForm

    if request.endpoint == CODE_STEP:  # the code step locked: its own page, and no code is looked at either
        message = _("Too many failed sign-ins. Try again in %(minutes)d minutes.", minutes=_minutes_left(request_limit))
        from .two_factor import pending_username

        log_event_now("lockout", details={"username": pending_username(), "limit": str(request_limit.limit),
                                          "step": "code"})
        return _refused("auth/code.html", request_limit, form=CodeForm(formdata=None), blocked=message)

    form = LoginForm(formdata=None, next=request.form.get("next", ""))
    form.username.data = request.form.get("username", "")[:64]
    message = _("Too many failed sign-ins. Try again in %(minutes)d minutes.", minutes=_minutes_left(request_limit))
    log_event_now("lockout", details={"username": form.username.data.strip(), "limit": str(request_limit.limit)})
    return _refused("auth/login.html", request_limit, form=form, blocked=message)


def _password_change_refused(request_limit: RequestLimit):
    message = _("Too many wrong passwords. Try again in %(minutes)d minutes.", minutes=_minutes_left(request_limit))
    return _refused("error.html", request_limit, code=429, title=_("Too many attempts"), message=message)


def _failures_per_name() -> str:
    return current_app.config["CRM_LOGIN_FAILURES"]


def _failures_per_address() -> str:
    return current_app.config["CRM_LOGIN_FAILURES_PER_IP"]


# Decorators for the views; read at request time, so the limits follow app.config. Shared by the password and the
# code step (one scope each), so a wrong code counts as a wrong password does.
sign_in_per_name = limiter.shared_limit(_failures_per_name, "sign-in", key_func=_address_and_name, methods=["POST"],
                                        deduct_when=_wrong_password, on_breach=_sign_in_refused)
sign_in_per_address = limiter.shared_limit(_failures_per_address, "sign-in-address", key_func=_address,
                                           methods=["POST"], deduct_when=_wrong_password, on_breach=_sign_in_refused)
# A stolen session must not become a way to guess the owner's password either.
password_change = limiter.limit(_failures_per_name, key_func=_signed_in_user, methods=["POST"],
                                deduct_when=_wrong_password, on_breach=_password_change_refused)

# The customer form's live check of a mobile or e-mail (admin/customers.py): CRM_TAKEN_CHECKS per user.
taken_check = limiter.limit(lambda: current_app.config["CRM_TAKEN_CHECKS"], key_func=_signed_in_user,
                            methods=["POST"])
