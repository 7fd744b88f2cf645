"""A mobile number or e-mail on the customer form that another customer already has: found through the duplicate
detector's match keys (crmadmin/matching.py), and told in words that respect the data scope: a customer the user may
see is named and linked, one they may not is described only by its owner, never by its own data."""
from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from ..auth.permissions import SAVE_DUPLICATE_CUSTOMERS
from ..duplicates import holders
from ..extensions import db
from ..matching import email_key, phone_key, region
from ..models import Customer, User
from .scope import restrict

# form field -> the match key it is compared by
KEYS = {"mobile": ("phone", phone_key), "email": ("email", email_key)}
CONFIRM = "crm_save_duplicate"  # the second step's checkbox; its value names the clashes it confirms


@dataclass
class Clash:
    field: str  # mobile or email
    section: str  # phone or email: the match key, as the log names it
    customer_id: int
    visible: bool


def may_save_duplicates() -> bool:
    return current_user.can(SAVE_DUPLICATE_CUSTOMERS)


def find(values: dict, editing_id: int | None) -> list[Clash]:
    """Each field of `values` (mobile, email) whose key another customer holds, with the first such customer."""
    found = []
    for field, value in values.items():
        if field not in KEYS or not value:
            continue
        section, key_of = KEYS[field]
        key = key_of(value) if section == "email" else key_of(value, region())
        if key is None:
            continue
        ids = db.session.scalars(holders(section, key, editing_id)).all()
        if not ids:
            continue
        seen = {row.id for row in restrict(db.session.query(Customer.id), Customer, "owner", "customers")
                .filter(Customer.id.in_(ids))}
        chosen = next((i for i in ids if i in seen), ids[0])  # a customer the user may open, if there is one
        found.append(Clash(field, section, chosen, chosen in seen))
    return found


def signature(clashes: list[Clash]) -> str:
    """What the second step confirms: these keys clashing with these customers (a changed number asks again)."""
    return ",".join(f"{c.section}:{c.customer_id}" for c in clashes)


def message(clash: Clash) -> Markup:
    """The clash on its field: a link to a visible customer, else only whose customer has the number."""
    if clash.visible:
        customer = db.session.get(Customer, clash.customer_id)
        link = Markup('<a href="{}" target="_blank" rel="noopener">{}</a>').format(
            url_for("customer.details_view", id=clash.customer_id), str(customer))
        text = (_("This mobile number already belongs to %(customer)s.", customer="{customer}")
                if clash.field == "mobile" else
                _("This e-mail address already belongs to %(customer)s.", customer="{customer}"))
        return escape(text).format(customer=link)
    owner = db.session.scalar(select(User).join(Customer, Customer.owner_id == User.id)
                              .where(Customer.id == clash.customer_id))
    if owner is not None:
        text = (_("This mobile number is already taken by a customer of %(owner)s.", owner=str(owner))
                if clash.field == "mobile" else
                _("This e-mail address is already taken by a customer of %(owner)s.", owner=str(owner)))
    else:
        text = (_("This mobile number is already taken by another clerk's customer.")
                if clash.field == "mobile" else
                _("This e-mail address is already taken by another clerk's customer."))
    return escape(text)


def explain(clash: Clash, may_confirm: bool, saving: bool = True) -> Markup:
    """The message with what to do next: on save, how to go on; while typing (the live check), what saving will do."""
    if may_confirm and saving:
        then = _("If this is really a different customer, tick “Save as a different customer (I have checked)” "
                 "and save again.")
    elif may_confirm:
        then = _("When you save, you will be asked to confirm that this is a different customer.")
    elif saving:
        then = _("Nothing was saved. If this is really a different customer, ask a supervisor to enter it.")
    else:
        then = _("If this is really a different customer, ask a supervisor to enter it.")
    return escape(_("%(problem)s %(then)s", problem="{problem}", then="{then}")).format(problem=message(clash),
                                                                                       then=then)
