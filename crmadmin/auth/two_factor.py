"""Two-factor sign-in: authenticator-app codes (TOTP, RFC 6238), recovery codes, and the set-up a role may require.

No secret and no code is ever logged or shown again once set up: the operation log gets the event, not the value.
"""
import hashlib
import hmac
import re
import secrets
import time

import pyotp
import segno
from flask import Flask, current_app, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import delete, select, update
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..models import RecoveryCode, User, utcnow

ISSUER = "crmadmin"  # what the authenticator app shows above the account name
DRIFT_STEPS = 1  # a code of the step before or after the current one is accepted too (clocks drift)
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
RECOVERY_LENGTH = 10  # about 49 bits each: a fast hash is enough, nobody can try them all offline
# the half-signed-in state between the password and the code, in the signed session cookie
PENDING = "crm_two_factor"
# while set-up is under way: the candidate secret, until a code confirms it
SETUP_SECRET = "crm_two_factor_setup"
# screens a user may open while their role requires a second factor they have not set up
# "root" only redirects to the panel, which then asks for the set-up; it stays free of the database (an outage's 503)
SET_UP_ALLOWED = {"account.two_factor", "auth.logout", "auth.set_language", "root"}


# --- codes ----------------------------------------------------------------------------------------------------------

def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand ("ABCD EFGH ...")."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str, title: str) -> str:
    """The otpauth URI as an inline SVG QR code, drawn here: no outside service, and no style attribute for the CSP."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, light="#fff", title=title, svgclass="two-factor-qr",
                                                  lineclass=None)
    return svg.replace("<svg ", '<svg role="img" ', 1)


def _digits(typed: str) -> str:
    return re.sub(r"[\s-]", "", typed or "")


def matching_step(secret: str, typed: str, last_step: int | None, now: float | None = None) -> int | None:
    """The time step whose code was typed, within the drift window and after the last accepted one; else None.

    Wrong, replayed and too-old codes all answer None: the user is told the same for each.
    """
    code = _digits(typed)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time() if now is None else now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def accept_step(user: User, step: int, attempts: int = 3) -> bool:
    """Record `step` as used, once: of two requests with the same code, the second finds it taken (the version check)."""
    for attempt in range(attempts):
        try:
            if attempt:
                db.session.refresh(user)
            if user.totp_last_step is not None and user.totp_last_step >= step:
                return False
            user.totp_last_step = step
            db.session.flush()
            return True
        except StaleDataError:
            db.session.rollback()
    return False


def _hash_recovery(code: str) -> str:
    return hashlib.sha256(_digits(code).lower().encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh codes for `user` (any older ones are void); only their hashes are stored, so show them now or never."""
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH)) for _ in range(RECOVERY_CODES)]
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_recovery(code)) for code in codes)
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def use_recovery_code(user: User, typed: str) -> bool:
    """Spend one unused recovery code of `user`: a single UPDATE, so two requests cannot both spend it."""
    if not re.fullmatch(r"[a-z0-9]{%d}" % RECOVERY_LENGTH, _digits(typed).lower()):
        return False
    spent = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash_recovery(typed),
                                   RecoveryCode.used_at.is_(None)).values(used_at=utcnow()))
    return spent.rowcount == 1


def recovery_codes_left(user_id: int):
    """How many unused recovery codes the user has: a select for the account page."""
    from sqlalchemy import func

    return select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user_id,
                                                               RecoveryCode.used_at.is_(None))


def turn_on(user: User, secret: str, step: int) -> list[str]:
    """Keep the confirmed secret; the step that confirmed it is spent. Returns the new recovery codes."""
    user.totp_secret = secret
    user.totp_last_step = step
    return new_recovery_codes(user)


def turn_off(user: User) -> None:
    """Forget the secret and the recovery codes: the user signs in with the password alone (or sets up anew)."""
    user.totp_secret = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# --- the half-signed-in state ---------------------------------------------------------------------------------------

def begin_code_step(user: User, next_url: str) -> None:
    """After the right password: a fresh session that only remembers who is half way in, until when, and for where."""
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language
    session[PENDING] = {"user": user.id, "mark": _credentials_mark(user), "at": int(time.time()), "next": next_url}


def _credentials_mark(user: User) -> str:
    """Changes when the password or the second factor does (a change, a reset): a half-way sign-in then ends."""
    return hashlib.sha256(f"{user.password_hash}\0{user.totp_secret or ''}".encode()).hexdigest()[:32]


def pending_sign_in() -> tuple[User | None, str]:
    """The user half way in and where they were going; None when there is none, it ran out or their sessions ended."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None, ""
    if time.time() - pending.get("at", 0) > current_app.config["CRM_TWO_FACTOR_MINUTES"] * 60:
        session.pop(PENDING, None)
        return None, ""
    user = db.session.get(User, pending.get("user"))
    if user is None or not user.active or _credentials_mark(user) != pending.get("mark") or not user.two_factor_on:
        session.pop(PENDING, None)
        return None, ""
    return user, pending.get("next") or ""


def pending_username() -> str:
    """For the sign-in limits: the code step counts against the same (address, name) as the password did."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return ""
    name = db.session.scalar(select(User.username).where(User.id == pending.get("user")))
    return name or ""


# --- set-up first, when the role requires it ------------------------------------------------------------------------

def require_set_up():
    """A user whose role requires a second factor and who has none can do nothing but set it up (or leave)."""
    endpoint = request.endpoint or ""
    if endpoint.rsplit(".", 1)[-1] == "static" or endpoint in SET_UP_ALLOWED:
        return None
    if not current_user.is_authenticated or current_user.two_factor_on or not current_user.two_factor_required:
        return None
    return redirect(url_for("account.two_factor"))


def init_app(app: Flask) -> None:
    app.before_request(require_set_up)
