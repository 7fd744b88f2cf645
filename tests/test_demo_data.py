"""`flask crm seed-demo`: believable demo data in realistic proportions, valid, repeatable, and safe to run twice."""
import re
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import phonenumbers
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from crmadmin import demo, search
from crmadmin.extensions import db
from crmadmin.models import (Campaign, CampaignParticipant, Complaint, Customer, CustomerStanding, Interaction,
                             RevenueMonth, Role, SurveyResponse, Transaction, User, utcnow)
from crmadmin.standing import Rules, refresh_all
from crmadmin.standing.maintain import figures_of, local, today
from crmadmin.standing.rules import stage, tier
from tests import factories

N = 400


def seed_demo(app, *extra: str) -> str:
    result = app.test_cli_runner().invoke(args=["crm", "seed-demo", "--customers", str(N), *extra])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def seeded(app, app_ctx):
    """Seeds N customers; returns (time before, time after) the run."""
    before = utcnow()
    seed_demo(app)
    return before, utcnow()


def test_inserts_the_customers_asked_for_with_their_history(app, app_ctx):
    """Does --customers 400 add exactly 400 customers, with purchases, contacts, complaints and campaigns?"""
    output = seed_demo(app)
    assert count(Customer) == N
    assert "Inserted 400 customers" in output
    for model in (Transaction, Interaction, Complaint, Campaign, CampaignParticipant):
        assert count(model) > 0, model.__name__
    numbers = dict((name, int(value.replace(",", ""))) for value, name in re.findall(r"(\d[\d,]*) (\w+)", output))
    assert numbers["transactions"] == count(Transaction)
    assert numbers["interactions"] == count(Interaction)
    assert numbers["complaints"] == count(Complaint)
    assert numbers["participants"] == count(CampaignParticipant)


def test_owners_are_spread_over_several_clerks(seeded):
    """Is every customer owned by an active clerk, with the customers spread evenly over at least five?"""
    owners = Counter(db.session.scalars(select(Customer.owner_id)))
    assert None not in owners
    assert len(owners) >= 5
    for owner_id, owned in owners.items():
        assert 0.1 * N <= owned <= 0.3 * N, (owner_id, owned)
        user = db.session.get(User, owner_id)
        assert user.active and "clerk" in {r.name for r in user.roles}
    handlers = set(db.session.scalars(select(Interaction.handled_by_id).distinct()))
    assert handlers <= set(owners)


def test_existing_clerks_own_the_demo_customers(app, app_ctx):
    """With enough active clerks already there, are they the owners, and no demo clerk made?"""
    clerks = {factories.user("clerk").id for _ in range(5)}
    factories.user("clerk", active=False)
    seed_demo(app)
    assert set(db.session.scalars(select(Customer.owner_id).distinct())) == clerks
    assert db.session.scalar(select(User).where(User.username.like("demo.clerk%"))) is None


def test_proportions_are_realistic(seeded):
    """Do most customers buy, ten times each on average, with a few percent complaining, mostly paid?"""
    buyers = db.session.scalar(select(func.count(func.distinct(Transaction.customer_id))))
    assert 0.75 * N <= buyers <= 0.9 * N  # BUYERS = 0.83
    assert 7 <= count(Transaction) / N <= 13  # ~10 per customer
    assert 2.4 <= count(Interaction) / N <= 3.6  # ~3 per customer
    complainers = db.session.scalar(select(func.count(func.distinct(Complaint.customer_id))))
    assert 0.005 * N <= complainers <= 0.08 * N
    assert 0.05 * N <= count(CampaignParticipant) <= 0.3 * N
    statuses = Counter(db.session.scalars(select(Transaction.status)))
    assert statuses["paid"] >= 0.85 * sum(statuses.values())
    kinds = Counter(db.session.scalars(select(Customer.kind)))
    assert 0.2 * N <= kinds["company"] <= 0.5 * N
    names = list(db.session.scalars(select(Customer.name)))
    assert len(set(names)) >= 0.8 * N
    stages = Counter(db.session.scalars(select(CustomerStanding.stage)))
    assert set(stages) == {"potential", "new", "active", "loyal", "at_risk", "churned"}


# every text a demo writes for people to read (e-mails, phones, codes the panel translates and ratings aside)
DEMO_TEXTS = (Customer.name, Customer.company_name, Customer.address, Customer.region, Customer.industry,
              Customer.position, Customer.tags, Transaction.product, Interaction.summary, Interaction.outcome,
              Complaint.subject, Complaint.description, Complaint.department, Complaint.solution, Campaign.name,
              Campaign.description, SurveyResponse.comment)
LATIN = re.compile(r"[A-Za-z]")
HAN = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")  # CJK characters and full-width punctuation


@pytest.mark.parametrize("locale, foreign", [(None, LATIN), ("zh_CN", LATIN), ("en", HAN)])
def test_the_demo_is_in_one_language(app, app_ctx, locale, foreign):
    """Is every text of a Chinese demo (the default) free of Latin letters, and of an English one free of Chinese
    characters, with one list of regions and ASCII e-mails?"""
    seed_demo(app, *(("--locale", locale) if locale else ()))
    for column in DEMO_TEXTS:
        values = set(db.session.scalars(select(column).where(column.is_not(None)).distinct()))
        assert values, column  # every field has something to check
        mixed = sorted(value for value in values if foreign.search(value))
        assert not mixed, (column, mixed[:5])
    clerks = db.session.scalars(select(User.display_name).where(User.username.like("demo.clerk%"))).all()
    assert len(clerks) == 5 and not any(foreign.search(name) for name in clerks)
    regions = set(db.session.scalars(select(Customer.region)))
    assert regions == ({"East", "South", "North", "Central", "Southwest", "Northwest", "Northeast"} if locale == "en"
                       else {"华东", "华南", "华北", "华中", "西南", "西北", "东北"})
    assert len(set(db.session.scalars(select(Customer.industry)))) >= 8
    emails = list(db.session.scalars(select(Customer.email).where(Customer.email.is_not(None))))
    assert emails and all(email.isascii() for email in emails)


def test_the_follow_up_list_looks_like_a_real_morning(seeded):
    """Seeded today, were most customers contacted within their follow-up interval, a few some days overdue and a
    few due today for every clerk, and only the newest never contacted?"""
    day, (before, _after) = today(), seeded
    standings = db.session.execute(select(CustomerStanding.owner_id, CustomerStanding.next_follow_up_on,
                                          CustomerStanding.last_contact_at, Customer.created_at)
                                   .join(Customer, Customer.id == CustomerStanding.customer_id)).all()
    assert len(standings) == N
    overdue = [(day - s.next_follow_up_on).days for s in standings if s.next_follow_up_on < day]
    assert 0 < len(overdue) < 0.15 * N
    assert max(overdue) <= 30  # missed by days, not by years
    due_today = Counter(s.owner_id for s in standings if s.next_follow_up_on == day)
    owners = set(db.session.scalars(select(Customer.owner_id).distinct()))
    assert len(owners) == 5 and all(due_today[owner] >= 1 for owner in owners), due_today
    # due within the fortnight: contacted on time
    assert sum(1 for s in standings if day <= s.next_follow_up_on <= day + timedelta(days=14)) >= 0.8 * N
    never = [s for s in standings if s.last_contact_at is None]
    assert len(never) <= 0.02 * N
    assert all(s.created_at >= before - timedelta(days=3) for s in never)


def test_phones_are_valid_e164_numbers(seeded):
    """Is every mobile number valid for `phonenumbers` and stored in E.164 form?"""
    mobiles = list(db.session.scalars(select(Customer.mobile)))
    assert len(mobiles) == N
    for mobile in mobiles:
        number = phonenumbers.parse(mobile, None)
        assert phonenumbers.is_valid_number(number), mobile
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == mobile


def test_no_dates_in_the_future_and_two_years_of_history(seeded):
    """Did everything that happened happen before now, within the last two years, after the customer existed?"""
    before, after = seeded
    for column in (Customer.created_at, Customer.updated_at, CustomerStanding.last_contact_at, Transaction.occurred_at,
                   Transaction.created_at, Transaction.updated_at, Interaction.occurred_at, Complaint.received_at,
                   Complaint.closed_at, Complaint.updated_at, CampaignParticipant.created_at,
                   CampaignParticipant.responded_at, Campaign.created_at):
        latest = db.session.scalar(select(func.max(column)))
        assert latest is None or latest <= after, column
    assert db.session.scalar(select(func.max(Campaign.starts_on))) <= after.date()
    first, last = db.session.execute(select(func.min(Transaction.occurred_at), func.max(Transaction.occurred_at))).one()
    assert first >= before - timedelta(days=731)
    assert last - first >= timedelta(days=365)
    assert db.session.scalar(select(func.min(Campaign.starts_on))) >= before.date() - timedelta(days=731)
    for model, column in ((Transaction, Transaction.occurred_at), (Interaction, Interaction.occurred_at),
                          (Complaint, Complaint.received_at)):
        early = db.session.scalar(select(func.count()).select_from(model).join(Customer)
                                  .where(column < Customer.created_at))
        assert early == 0, model.__name__
    assert db.session.scalar(select(func.count()).select_from(Complaint)
                             .where(Complaint.closed_at < Complaint.received_at)) == 0
    assert db.session.scalar(select(func.count()).select_from(CampaignParticipant)
                             .where(CampaignParticipant.responded_at < CampaignParticipant.created_at)) == 0
    # a purchase credited to a campaign happened while it ran or within 30 days after
    credited = db.session.execute(select(Transaction.occurred_at, Campaign.starts_on, Campaign.ends_on)
                                  .join(Campaign, Transaction.campaign_id == Campaign.id)).all()
    assert credited
    for occurred, starts, ends in credited:
        assert starts <= occurred.date() <= ends + timedelta(days=30)


def test_amounts_are_positive_with_two_decimals(seeded):
    """Is every amount a positive sum of whole cents?"""
    amounts = list(db.session.scalars(select(Transaction.amount)))
    assert amounts
    for amount in amounts:
        assert isinstance(amount, Decimal) and amount > 0
        assert amount.as_tuple().exponent == -2
    raw = db.session.execute(text('SELECT amount FROM "transaction"')).scalars().all()
    assert all(isinstance(cents, int) and cents > 0 for cents in raw)
    for budget, cost in db.session.execute(select(Campaign.budget, Campaign.actual_cost)):
        assert budget > 0 and cost >= 0


def test_monthly_revenue_holds_every_paid_purchase(seeded):
    """Do the dashboard's monthly sums, filled after the bulk load, add up to the paid purchases, owner by owner?"""
    owner = func.coalesce(Customer.owner_id, 0).label("owner")
    paid = dict(db.session.execute(
        select(owner, func.sum(Transaction.amount)).join(Transaction.customer)
        .where(Transaction.status == "paid").group_by(owner)).all())
    summed = dict(db.session.execute(
        select(RevenueMonth.owner_id, func.sum(RevenueMonth.amount)).group_by(RevenueMonth.owner_id)).all())
    assert paid and summed == paid


def test_standing_matches_the_purchases(seeded):
    """Does every customer's standing hold the figures of their paid purchases, and the tier and stage they make?"""
    day, rules = today(), Rules()
    window_start = rules.window_start(day)
    paid = {}
    for cid, at, amount in db.session.execute(
            select(Transaction.customer_id, Transaction.occurred_at, Transaction.amount)
            .where(Transaction.status == "paid")):
        n, in_window, total, last = paid.get(cid, (0, 0, Decimal(0), None))
        inside = local(at).date() >= window_start
        paid[cid] = (n + 1, in_window + inside, total + (amount if inside else 0), max(last or at, at))
    standings = db.session.scalars(select(CustomerStanding)).all()
    assert len(standings) == N
    for s in standings:
        n, in_window, total, last = paid.get(s.customer_id, (0, 0, Decimal(0), None))
        assert (s.purchase_count, s.window_count, s.window_amount, s.last_purchase_at) == (n, in_window, total, last)
        created = db.session.get(Customer, s.customer_id).created_at
        f = figures_of(s.__dict__, created, None, None)
        assert (s.tier, s.stage) == (tier(f, rules, day)[0], stage(f, rules, day)[0]), s.customer_id
    assert refresh_all(db.engine)["written"] == 0  # a second refresh finds nothing to change


def test_campaign_participants_are_unique(seeded):
    """Is each customer on a campaign's list at most once?"""
    pairs = db.session.execute(select(CampaignParticipant.campaign_id, CampaignParticipant.customer_id)).all()
    assert pairs
    assert len(pairs) == len(set(pairs))


def test_running_twice_adds_more_without_collisions(app, app_ctx):
    """Does a second run add as many customers again, reuse the campaigns, and leave the ids usable?"""
    seed_demo(app)
    first = {m: count(m) for m in (Customer, Transaction, Interaction, Complaint, Campaign, CampaignParticipant)}
    first_max = db.session.scalar(select(func.max(Customer.id)))
    seed_demo(app)
    assert count(Customer) == 2 * N
    lowest, highest = db.session.execute(select(func.min(Customer.id), func.max(Customer.id))).one()
    assert lowest < first_max < highest
    for model in (Transaction, Interaction):
        assert count(model) > 1.5 * first[model], model.__name__
    assert count(CampaignParticipant) > first[CampaignParticipant]
    assert count(Campaign) == first[Campaign]
    assert db.session.scalar(select(func.count(func.distinct(User.id))).where(User.username.like("demo.clerk%"))) == 5
    # the next ordinary insert gets a fresh id (PostgreSQL sequences moved past the explicit ids)
    customer = factories.customer()
    assert customer.id == 2 * N + 1
    campaign = Campaign(name="After the demo", type="seminar", channel="event", starts_on=utcnow().date())
    db.session.add(campaign)
    db.session.add(Transaction(customer_id=customer.id, product="Kit", amount=Decimal("9.90"), channel="store",
                               occurred_at=utcnow()))
    db.session.commit()
    assert campaign.id == first[Campaign] + 1


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_same_seed_gives_the_same_data_on_any_day(app, app_ctx, monkeypatch, locale):
    """Does the same --seed give the same names, amounts and ages even on another day, and another seed not, in
    each language?"""
    import crmadmin.demo

    days = (datetime(2026, 3, 1, 8, 0), datetime(2026, 7, 15, 20, 30), datetime(2026, 7, 15, 20, 30))
    for now, seed in zip(days, ("7", "7", "8")):
        monkeypatch.setattr(crmadmin.demo, "utcnow", lambda now=now: now)
        seed_demo(app, "--seed", seed, "--locale", locale)
    customers = db.session.execute(select(Customer.id, Customer.name, Customer.created_at).order_by(Customer.id)).all()
    runs = [customers[n * N:(n + 1) * N] for n in range(3)]
    names = [[c.name for c in run] for run in runs]
    ages = [[now - c.created_at for c in run] for now, run in zip(days, runs)]
    assert names[0] == names[1] and ages[0] == ages[1]
    assert names[0] != names[2] and ages[0] != ages[2]
    run_of = {c.id: n for n, run in enumerate(runs) for c in run}
    amounts = [[], [], []]
    for cid, amount in db.session.execute(select(Transaction.customer_id, Transaction.amount).order_by(Transaction.id)):
        amounts[run_of[cid]].append(amount)
    assert amounts[0] == amounts[1]
    assert amounts[0] != amounts[2]


def test_without_a_clerk_role_demo_clerks_still_own_the_customers(app, app_ctx):
    """Before `sync-roles` has run, are demo clerks made anyway, so customers still have owners?"""
    db.session.execute(Role.__table__.delete())
    db.session.commit()
    seed_demo(app)
    assert count(Customer) == N
    assert db.session.scalar(select(func.count(func.distinct(Customer.owner_id)))) == 5
    assert db.session.scalar(select(func.count()).select_from(Customer).where(Customer.owner_id.is_(None))) == 0


def indexes() -> dict:
    """Every index of every table, as the database describes it (name, columns, uniqueness, partial condition)."""
    inspector = inspect(db.engine)  # a new inspector: no cached reflection

    def described(ix: dict) -> dict:  # the partial condition is reflected as a TextClause: compare its SQL
        return {**ix, "dialect_options": {k: str(v) for k, v in ix.get("dialect_options", {}).items()}}

    return {table.name: sorted((described(ix) for ix in inspector.get_indexes(table.name)), key=lambda ix: ix["name"])
            for table in db.metadata.sorted_tables}


def test_a_big_load_builds_every_index_again(app, app_ctx):
    """Does a load that drops the secondary indexes for speed put every one back as the migrations made it?"""
    before = indexes()
    assert "ix_transaction_paid_customer_id" in {ix["name"] for ix in before["transaction"]}
    counts = demo.seed(N, progress=None, rebuild_indexes=True)
    assert counts["customers"] == count(Customer) == N
    assert indexes() == before
    with db.engine.connect() as connection:  # the models and migrations still agree
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True,
                                                               "include_object": search.include_object})
        assert compare_metadata(context, db.metadata) == []
        # the search index was built again from every loaded customer, and its triggers follow new changes
        assert search.count_indexed(connection) == N
    last = db.session.scalars(select(Customer).order_by(Customer.id.desc())).first()
    last.name = "Xu Mingzhe"
    db.session.commit()
    found = db.session.scalars(search.matching_ids("customer", ["name"], "mingzh", db.engine.dialect.name)).all()
    assert found == [last.id]
    # the index of pieces too: a loaded name's first two characters find every customer a plain match finds
    first = db.session.scalars(select(Customer).order_by(Customer.id)).first()
    dialect, piece = db.engine.dialect.name, first.name[:2]
    through_pieces = set(db.session.scalars(search.matching_ids("customer", ["name"], piece, dialect)))
    assert first.id in through_pieces
    assert through_pieces == set(db.session.scalars(select(Customer.id).where(Customer.name.ilike(f"%{piece}%"))))
    # the unique constraint stayed in place throughout
    pair = db.session.execute(select(CampaignParticipant.campaign_id, CampaignParticipant.customer_id)).first()
    db.session.add(CampaignParticipant(campaign_id=pair.campaign_id, customer_id=pair.customer_id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_failed_big_load_still_builds_every_index_again(app, app_ctx, monkeypatch):
    """If a load fails halfway, are its rows rolled back and the dropped indexes there again all the same?"""
    before = indexes()
    write = demo._write

    def failing(conn, table, columns, rows):
        if table == "interaction":
            raise RuntimeError("disk full")
        write(conn, table, columns, rows)

    monkeypatch.setattr(demo, "_write", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        demo.seed(N, progress=None, rebuild_indexes=True)
    db.session.rollback()
    assert indexes() == before
    assert count(Customer) == count(Transaction) == 0


def test_only_big_loads_rebuild_the_indexes(app, app_ctx, monkeypatch):
    """Are the indexes rebuilt for a load that is big and at least doubles the data, and kept for a small one?"""
    rebuilt = []
    create = demo._create_indexes
    monkeypatch.setattr(demo, "_create_indexes", lambda dropped: (rebuilt.append(len(dropped)), create(dropped)))
    monkeypatch.setattr(demo, "REBUILD_MIN_CUSTOMERS", N)
    demo.seed(N - 1, progress=None)  # too small
    demo.seed(N, progress=None)  # big enough, and more than there are
    demo.seed(N, progress=None)  # big enough, but fewer than there are
    assert len(rebuilt) == 1 and rebuilt[0] > 20
    assert count(Customer) == 3 * N - 1


def test_a_load_leaves_planner_statistics(app, app_ctx):
    """After a load, does the database have fresh statistics on the loaded tables, so it picks the right indexes?"""
    tables = {"customer", "transaction", "interaction", "complaint", "campaign_participant"}
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text("DELETE FROM sqlite_stat1"))  # left by earlier tests
        db.session.commit()
        seed_demo(app)
        analyzed = set(db.session.scalars(text("SELECT DISTINCT tbl FROM sqlite_stat1")))
    else:
        started = db.session.scalar(text("SELECT now()"))
        db.session.commit()
        seed_demo(app)
        analyzed = set(db.session.scalars(text("SELECT relname FROM pg_stat_user_tables WHERE last_analyze >= :t"),
                                          {"t": started}))
    assert tables <= analyzed
