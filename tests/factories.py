"""Records with believable defaults, made through the ORM; tests override what they care about."""
import itertools
import time
from datetime import date, timedelta
from decimal import Decimal

import pyotp
from sqlalchemy import select

from crmadmin.auth.passwords import hash_password
from crmadmin.extensions import db
from crmadmin.models import (Campaign, CampaignParticipant, Complaint, Customer, Interaction, Role,
                             Transaction, User, utcnow)
from crmadmin.models import SurveyResponse
from crmadmin.standing import today

_seq = itertools.count(1)
PASSWORD = "correct horse battery staple"


def _save(obj):
    """Commit, reload and detach, so records stay readable after the app context ends and later commits."""
    db.session.add(obj)
    db.session.commit()
    for loaded in list(db.session):
        db.session.refresh(loaded)
    db.session.expunge_all()
    return obj


def user(role: str | None = "clerk", username: str | None = None, password: str = PASSWORD,
         two_factor: bool | None = None, **kw) -> User:
    """A user of `role`; one whose role requires two-factor sign-in has an authenticator secret, as if they had set
    it up (two_factor=False: not yet; True: even when not required). Sign in with tests.conftest.sign_in."""
    username = username or f"{role or 'user'}{next(_seq)}"
    roles = [db.session.scalar(select(Role).where(Role.name == role))] if role else []
    if two_factor is None:
        two_factor = any(r.two_factor_required for r in roles)
    if two_factor:
        kw.setdefault("totp_secret", pyotp.random_base32())
    return _save(User(username=username, password_hash=hash_password(password), roles=roles, **kw))


def current_code(username: str, step_offset: int = 0) -> str:
    """The code the user's authenticator app shows now (or `step_offset` steps away), computed from their secret."""
    secret = db.session.scalar(select(User.totp_secret).where(User.username == username))
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(time.time()) + step_offset)


def next_unused_code(username: str) -> str:
    """A code the server will still take: the earliest step of the accepted window (one step each way) after the
    last one used, as an app gives a new code each 30 seconds; waits for the next step when all three are spent."""
    while True:
        user = db.session.scalar(select(User).where(User.username == username))
        totp = pyotp.TOTP(user.totp_secret)
        moment = time.time()
        now = totp.timecode(moment)
        # the step before now goes out of the window at the next step's start: not when that is near, since the
        # server checks the code a moment later (a loaded machine crossed it between the two and the sign-in failed)
        ending = totp.interval - moment % totp.interval < 10
        for step in (now, now + 1) if ending else (now - 1, now, now + 1):
            if user.totp_last_step is None or step > user.totp_last_step:
                db.session.expunge_all()
                return totp.generate_otp(step)
        db.session.expunge_all()
        time.sleep(totp.interval - time.time() % totp.interval + 0.05)


def customer(**kw) -> Customer:
    n = next(_seq)
    values = dict(name=f"Customer {n}", kind="person", mobile=f"+8613800{n:06d}", email=f"c{n}@example.com",
                  region="华东", industry="Retail", source="website")
    values.update(kw)
    return _save(Customer(**values))


def transaction(customer: Customer, **kw) -> Transaction:
    values = dict(customer=customer, product="Starter kit", quantity=1, amount=Decimal("399.00"), currency="CNY",
                  occurred_at=utcnow() - timedelta(days=3), channel="store", status="paid")
    values.update(kw)
    return _save(Transaction(**values))


def interaction(customer: Customer, **kw) -> Interaction:
    values = dict(customer=customer, channel="phone", direction="outbound", summary="Called about renewal",
                  occurred_at=utcnow() - timedelta(days=1))
    values.update(kw)
    return _save(Interaction(**values))


def complaint(customer: Customer, **kw) -> Complaint:
    values = dict(customer=customer, subject="Late delivery", description="Parcel arrived a week late",
                  channel="phone", received_at=utcnow() - timedelta(hours=5), type="service",
                  severity="general", urgency="normal", status="received")
    values.update(kw)
    return _save(Complaint(**values))


def campaign(**kw) -> Campaign:
    n = next(_seq)
    values = dict(name=f"Spring launch {n}", type="product_launch", channel="event", status="planned",
                  starts_on=date.today() - timedelta(days=10), ends_on=date.today() + timedelta(days=10),
                  budget=Decimal("10000.00"))
    values.update(kw)
    return _save(Campaign(**values))


def participant(campaign: Campaign, customer: Customer, **kw) -> CampaignParticipant:
    return _save(CampaignParticipant(campaign=campaign, customer=customer, **kw))


def role(name: str, permissions: set[str], own_customers_only: bool = False) -> Role:
    return _save(Role(name=name, permissions=permissions, own_customers_only=own_customers_only))


def survey(customer: Customer, **kw) -> SurveyResponse:
    values = dict(customer=customer, kind="nps", score=9, channel="phone", answered_on=today())
    values.update(kw)
    return _save(SurveyResponse(**values))
