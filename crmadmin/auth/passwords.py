"""Password hashing (argon2id) and the policy every new password must meet."""
import gzip
import re
import secrets
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_DISTINCT = 5  # different characters: "abababababab" and "112233112233" are not passwords
MAX_UNIT = 4  # a unit this short, repeated over most of the password, is one guess away: sup1sup1sup1
MOSTLY = 0.75
MAX_SIMILARITY = 0.7  # Django's UserAttributeSimilarityValidator default
# Django's list of 20,000 common passwords (see common-passwords.LICENSE), read on first use
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")
# Common passwords of at least 12 characters, from public breach corpora, that Django's list lacks.
MORE_COMMON_PASSWORDS = frozenset(
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


def generate_password(username: str | None = None, display_name: str | None = None, email: str | None = None) -> str:
    """A random password for this account, shown once; drawn again in the unlikely case the policy refuses it (a
    random one shares enough letters with a long user name now and then: one draw in a few thousand)."""
    while True:
        password = secrets.token_urlsafe(12)
        if not policy_problems(password, username, display_name, email):
            return password


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines) | MORE_COMMON_PASSWORDS


def _similar(password: str, value: str) -> bool:
    """Django's rule: the password is too like the value, or like one of its parts (the name of an e-mail address)."""
    value = value.lower()
    for part in re.split(r"\W+", value) + [value]:
        if not part:
            continue
        # a much longer password cannot reach the ratio: skip the matcher (Django's exceeds_maximum_length_ratio)
        if len(password) >= 10 * len(part) and len(part) < MAX_SIMILARITY / 2 * len(password):
            continue
        if SequenceMatcher(a=password, b=part).quick_ratio() >= MAX_SIMILARITY:
            return True
    return False


def _repeated(password: str) -> bool:
    """Mostly one short unit over and over (sup1sup1sup1, aaaaaaaaaaaa, 123123123123), or two copies of one word."""
    half = len(password) // 2
    if any(len(password) % n == 0 and password == password[:n] * (len(password) // n) for n in range(1, half + 1)):
        return True
    for unit in range(1, MAX_UNIT + 1):
        run = longest = 0  # characters equal to the one `unit` places before them, in a row
        for i in range(unit, len(password)):
            run = run + 1 if password[i] == password[i - unit] else 0
            longest = max(longest, run)
        if longest >= 2 * unit and longest + unit >= MOSTLY * len(password):
            return True
    return False


def policy_problems(password: str, username: str | None = None, display_name: str | None = None,
                    email: str | None = None) -> list[str]:
    """Why a password is refused, in the user's language, one reason per rule; empty when it is acceptable.

    The rules are Django's validators (length, user attribute similarity, its common-password list, all digits)
    plus repetition; every path that sets a password asks this, with the account's name, display name and e-mail.
    """
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(_("Use at least %(n)d characters.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        problems.append(_("Use at most %(n)d characters.", n=MAX_LENGTH))
        return problems  # nothing longer is compared to anything
    lowered = password.lower()
    for value, message in ((username, _("The password is too similar to the user name.")),
                           (display_name, _("The password is too similar to the display name.")),
                           (email, _("The password is too similar to the e-mail address."))):
        if value and _similar(lowered, value):
            problems.append(message)
    if lowered.strip() in common_passwords():
        problems.append(_("This password is too common."))
    if password.isdigit():
        problems.append(_("The password must not be digits only."))
    if len(set(lowered)) < MIN_DISTINCT:
        problems.append(_("Use at least %(n)d different characters.", n=MIN_DISTINCT))
    if _repeated(lowered):
        problems.append(_("The password must not be one short sequence repeated (like abcabcabc)."))
    return problems
