"""Merging duplicate customers into one, in one transaction through the session, so the operation log holds every
moved record under the request's batch and the whole merge can be undone with `undo_batch`."""
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from . import choices
from .audit import log_event
from .audit.undo import undo_batch
from .extensions import db
from .files import store as file_store
from .models import (AuditEntry, CampaignParticipant, Complaint, Customer, CustomerStanding, Interaction,
                     PersonalDataRequest, SurveyResponse, Transaction)
from .standing import refresh_customers

# the fields of the customer file a merge chooses between, in the form's order
FIELDS = ("name", "kind", "gender", "birthday", "mobile", "email", "address", "region", "company_name", "position",
          "industry", "company_size", "source", "referred_by_id", "preferences", "interests", "needs", "notes", "tags",
          "credit_rating", "owner_id", "follow_up_days")
# records that belong to a customer and follow the survivor: (table, column) -> model
MOVED = {("transaction", "customer_id"): Transaction, ("interaction", "customer_id"): Interaction,
         ("complaint", "customer_id"): Complaint, ("campaign_participant", "customer_id"): CampaignParticipant,
         ("survey_response", "customer_id"): SurveyResponse, ("customer", "referred_by_id"): Customer,
         ("personal_data_request", "customer_id"): PersonalDataRequest}
# files on records, bookkeeping written with plain SQL (crmadmin/files): given to the survivor, kept by it on undo
FILES = {("record_file", "customer_id")}
# rows derived from the customer file, recomputed for the survivor and deleted with the merged (ON DELETE CASCADE)
DERIVED = {("customer_standing", "customer_id"), ("standing_change", "customer_id"), ("customer_match", "customer_id")}
RESPONSE_ORDER = choices.PARTICIPANT_RESPONSE.values  # invited < responded < attended < converted
MERGE_EVENT = "merge"
UNDO_EVENT = "merge_undone"


class MergeRefused(Exception):
    """Why a merge (or its undo) cannot be done; shown to the user as it is, and nothing is changed."""


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def candidates(ids, owner_id: int | None = None) -> Select:
    """The customers to merge, in id order; only the owner's own when the user is limited to them."""
    stmt = select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id)
    return stmt if owner_id is None else stmt.where(Customer.owner_id == owner_id)


def related_counts(ids) -> Select:
    """(customer id, transactions, interactions, complaints, campaigns, surveys, referred) in one statement."""
    def count(model, column):
        return select(func.count()).where(column == Customer.id).correlate(Customer).scalar_subquery()

    referred = db.aliased(Customer)
    return select(Customer.id, count(Transaction, Transaction.customer_id),
                  count(Interaction, Interaction.customer_id), count(Complaint, Complaint.customer_id),
                  count(CampaignParticipant, CampaignParticipant.customer_id),
                  count(SurveyResponse, SurveyResponse.customer_id),
                  select(func.count()).where(referred.referred_by_id == Customer.id).correlate(Customer)
                  .scalar_subquery()).where(Customer.id.in_(ids)).order_by(Customer.id)


@dataclass
class Choice:
    field: str
    values: list  # (customer id, value) per candidate, in the candidates' order
    default: int  # the customer whose value is kept unless the user picks another


def conflicts(customers: list[Customer], survivor: Customer, fields=FIELDS) -> list[Choice]:
    """The fields whose values differ; by default the survivor's value, or the first non-empty one if it has none."""
    ids = {c.id for c in customers}
    found = []
    for name in fields:
        values = [(c.id, _value(c, name, ids)) for c in customers]
        if len({v for _, v in values}) < 2:
            continue
        own = _value(survivor, name, ids)
        default = survivor.id if not _empty(own) else next(
            (cid for cid, v in values if not _empty(v)), survivor.id)
        found.append(Choice(name, values, default))
    return found


def _value(customer: Customer, name: str, ids: set):
    """A field's value; a referral by one of the customers being merged counts as none (it would point at itself)."""
    value = getattr(customer, name)
    return None if name == "referred_by_id" and value in ids else value


def merge(session: Session, survivor_id: int, merged_ids: list[int], chosen: dict[str, int],
          versions: dict[int, int], owner_id: int | None = None) -> dict:
    """Keep `survivor_id`, with the value of each field taken from the customer `chosen` names; move every record of
    the merged customers to it and delete them. Refused if any customer changed since `versions` were read."""
    merged_ids = sorted(set(merged_ids) - {survivor_id})
    ids = [survivor_id, *merged_ids]
    if not merged_ids:
        raise MergeRefused(_("Choose at least two customers to merge."))
    customers = {c.id: c for c in session.scalars(candidates(ids, owner_id).with_for_update())}
    if len(customers) != len(ids):
        raise MergeRefused(_("Some of these customers no longer exist or are not yours to merge."))
    for cid, customer in customers.items():
        if versions.get(cid) != customer.version:
            raise MergeRefused(_("%(name)s was changed by someone else after the form was shown. Nothing was "
                                 "merged; look at the customers again.", name=str(customer)))
    survivor = customers[survivor_id]
    values = _set_chosen(survivor, customers, chosen)
    moved = _move_records(session, survivor, merged_ids)
    dropped = _drop_double_participations(session, survivor, merged_ids)
    moved["campaign_participant"] = _move(session, CampaignParticipant, merged_ids, survivor.id)
    session.flush()
    for cid in merged_ids:  # their collections were emptied by the moves: do not let the cascade look at stale ones
        session.expire(customers[cid], ["interactions", "participations"])
        session.delete(customers[cid])
    session.flush()
    refresh_customers(session.connection(), [survivor.id])  # the standing from the survivor's whole history
    for obj in list(session.identity_map.values()):
        if isinstance(obj, CustomerStanding) and obj.customer_id == survivor.id:
            session.expire(obj)
    details = {"survivor": survivor.id, "merged": merged_ids, "chosen": values, "moved": moved,
               "dropped_participations": dropped}
    log_event(session, MERGE_EVENT, survivor, details)
    return details


def _set_chosen(survivor: Customer, customers: dict, chosen: dict[str, int]) -> dict:
    ids = set(customers)
    values = {}
    for name, source in chosen.items():
        if name not in FIELDS or source not in customers:
            raise MergeRefused(_("The form asked for a value that is not one of these customers'. Nothing was "
                                 "merged."))
        value = _value(customers[source], name, ids)
        values[name] = {"from": source, "value": value}
        if getattr(survivor, name) != value:
            setattr(survivor, name, value)
    if survivor.referred_by_id in ids:  # referred by a customer merged into them: no longer anyone else
        survivor.referred_by_id = None
    return values


def _move(session: Session, model, merged_ids: list[int], survivor_id: int) -> int:
    rows = session.scalars(select(model).where(model.customer_id.in_(merged_ids))).all()
    for row in rows:
        row.customer_id = survivor_id
    return len(rows)


def _move_records(session: Session, survivor: Customer, merged_ids: list[int]) -> dict:
    moved = {model.__tablename__: _move(session, model, merged_ids, survivor.id)
             for model in (Transaction, Interaction, Complaint, SurveyResponse, PersonalDataRequest)}
    referred = session.scalars(select(Customer).where(Customer.referred_by_id.in_(merged_ids),
                                                      Customer.id.not_in([survivor.id, *merged_ids]))).all()
    for customer in referred:
        customer.referred_by_id = survivor.id
    moved["referrals"] = len(referred)
    files = file_store.move(session, merged_ids, survivor.id)  # files on records: named only when there are any
    if files:
        moved["record_file"] = files
    return moved


def _drop_double_participations(session: Session, survivor: Customer, merged_ids: list[int]) -> list[dict]:
    """One place per campaign (the table is unique on campaign and customer). The survivor's place stays and takes
    the furthest response of the others; without one, the merged place furthest along moves. The rest are deleted
    (and logged), before anything moves, so no step meets the unique constraint, nor does the undo."""
    rows = session.scalars(select(CampaignParticipant)
                           .where(CampaignParticipant.customer_id.in_([survivor.id, *merged_ids]))
                           .order_by(CampaignParticipant.campaign_id, CampaignParticipant.id)).all()
    by_campaign: dict[int, list] = {}
    for row in rows:
        by_campaign.setdefault(row.campaign_id, []).append(row)
    dropped = []
    for places in by_campaign.values():
        if len(places) < 2:
            continue
        best = max(places, key=lambda p: (RESPONSE_ORDER.index(p.response), p.customer_id == survivor.id, -p.id))
        keep = next((p for p in places if p.customer_id == survivor.id), best)
        if best is not keep and best.response != keep.response:
            keep.response, keep.responded_at = best.response, best.responded_at
        for place in places:
            if place is not keep:
                dropped.append({"id": place.id, "campaign_id": place.campaign_id, "customer_id": place.customer_id,
                                "response": place.response, "kept": keep.id})
                session.delete(place)
    session.flush()
    return dropped


def merge_entry(session: Session, entry_id) -> AuditEntry | None:
    try:
        entry_id = int(entry_id)
    except (TypeError, ValueError):
        return None
    return session.scalars(select(AuditEntry).where(AuditEntry.id == entry_id,
                                                    AuditEntry.action == MERGE_EVENT)).one_or_none()


def undo(session: Session, entry: AuditEntry) -> int:
    """Undo a merge as the one batch it was (refused if any of its records changed since); the undo is logged."""
    count = undo_batch(session, entry.batch_id)
    survivor = session.get(Customer, int(entry.record_id))
    log_event(session, UNDO_EVENT, survivor, {"merge_entry": entry.id, "changes_undone": count})
    return count
