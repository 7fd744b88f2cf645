"""Moving a customer's next follow-up to another day, with the reason in the operation log.

The due date is not a field of its own: the standing rules (standing/rules.py `next_due`) take it from the latest
contact's next_follow_up_on. Rescheduling therefore sets that date on the latest contact; the standing listeners
move the customer's row in the same transaction, and the change itself is logged like any other edit. A customer
nobody has contacted yet has no contact to carry the date: it is kept on their standing (rescheduled_to), which the
rules honour until the first contact is logged and clears it. Both are logged as the same event."""
from datetime import date

from sqlalchemy import update
from sqlalchemy.orm import Session

from .audit import log_event
from .models import Customer, CustomerStanding, Interaction, utcnow
from .standing import refresh_customers

RESCHEDULED = "follow_up_rescheduled"  # the operation log's action (choices.AUDIT_ACTION)
STANDING = CustomerStanding.__table__


def reschedule(session: Session, customer: Customer, new_date: date, reason: str, was: date | None) -> \
        Interaction | None:
    """Move the customer's next follow-up to new_date and log why, in the caller's transaction; returns the contact
    that now carries the date, or None when nobody has contacted them yet (the standing carries it)."""
    standing = customer.standing
    contact = session.get(Interaction, standing.last_interaction_id) if standing and standing.last_interaction_id \
        else None
    if contact is not None:
        contact.next_follow_up_on = new_date
        session.flush()
    else:
        connection = session.connection()
        if standing is None:  # not yet computed (a customer added outside the session): compute it first
            refresh_customers(connection, [customer.id])
        # updated_at moves too, so a full refresh that read the row before this never writes over it
        connection.execute(update(STANDING).where(STANDING.c.customer_id == customer.id)
                           .values(rescheduled_to=new_date, updated_at=utcnow()))
        refresh_customers(connection, [customer.id])
        if standing is not None:
            session.expire(standing)
    log_event(session, RESCHEDULED, customer, {
        "previous_due": was.isoformat() if was else None, "new_due": new_date.isoformat(), "reason": reason,
        "contact": contact.id if contact is not None else None})
    return contact
