"""Password hashing (argon2id) and the policy every new password must meet."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

MIN_LENGTH = 12
MAX_LENGTH = 128
# The most common passwords of at least 12 characters, from public breach corpora.
COMMON_PASSWORDS = frozenset(
    """123456789012 1234567890123 12345678910 123456789123 qwertyuiop123 qwertyuiopasdf
    password1234 password12345 passwordpassword administrator 1q2w3e4r5t6y 1qaz2wsx3edc
    qwerty123456 iloveyou1234 abcdefghijkl abc123456789 welcome12345 111111111111
    000000000000 aaaaaaaaaaaa changeme1234 letmein12345 admin1234567 administrator1
    zaq12wsxcde3 asdfghjkl123 trustno112345 football1234 baseball1234 superman1234""".split()
)


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> None:
    """Spend the same time on an unknown user as on a wrong password, so timing does not tell."""
    cached = current_app.extensions.setdefault("crm_dummy_hash", hash_password("unknown-user-placeholder"))
    verify_password(cached, password)


def policy_problems(password: str, username: str | None = None) -> list[str]:
    """Why a password is refused, in the user's language; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(_("Use at least %(n)d characters.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        problems.append(_("Use at most %(n)d characters.", n=MAX_LENGTH))
    if password.lower() in COMMON_PASSWORDS:
        problems.append(_("This password is too common."))
    if username and password.lower() == username.lower():
        problems.append(_("The password must not be the user name."))
    return problems
