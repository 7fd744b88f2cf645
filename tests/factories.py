"""Records with believable defaults, made through the ORM; tests override what they care about."""
import itertools
from datetime import date, timedelta
from decimal import Decimal

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


def user(role: str | None = "clerk", username: str | None = None, password: str = PASSWORD, **kw) -> User:
    username = username or f"{role or 'user'}{next(_seq)}"
    roles = [db.session.scalar(select(Role).where(Role.name == role))] if role else []
    return _save(User(username=username, password_hash=hash_password(password), roles=roles, **kw))


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
