"""Moving a customer's next follow-up to another day, with the reason in the operation log.

The due date is not a field of its own: the standing rules (standing/rules.py `next_due`) take it from the latest
contact's next_follow_up_on. Rescheduling therefore sets that date on the latest contact; the standing listeners
move the customer's row in the same transaction, and the change itself is logged like any other edit."""
from datetime import date

from sqlalchemy.orm import Session

from .audit import log_event
from .models import Customer, Interaction

RESCHEDULED = "follow_up_rescheduled"  # the operation log's action (choices.AUDIT_ACTION)


class NothingToReschedule(LookupError):
    """The customer has no contact yet: their due date is the cadence after registration, set by no one."""


def reschedule(session: Session, customer: Customer, new_date: date, reason: str, was: date | None) -> Interaction:
    """Set the latest contact's next follow-up to new_date and log why, in the caller's transaction."""
    standing = customer.standing
    contact = session.get(Interaction, standing.last_interaction_id) if standing and standing.last_interaction_id \
        else None
    if contact is None:
        raise NothingToReschedule(customer.id)
    contact.next_follow_up_on = new_date
    session.flush()
    log_event(session, RESCHEDULED, customer, {
        "previous_due": was.isoformat() if was else None, "new_due": new_date.isoformat(), "reason": reason,
        "contact": contact.id})
    return contact
