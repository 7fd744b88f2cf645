"""Believable demo data, inserted in bulk: customers with two years of purchases, contacts, complaints, campaigns.

Speed and memory: customers are made in chunks of CHUNK, each chunk with its whole history, written and
committed before the next, so memory stays flat whatever the count. Rows are plain tuples of the values the
columns store (money as integer cents like the ``Money`` type, timestamps as the ISO text SQLAlchemy writes
on SQLite, which PostgreSQL reads as well), so no per-value type conversion runs in SQLAlchemy. They go to the
database by the fastest bulk path of the driver: COPY on PostgreSQL (psycopg); on SQLite one executemany into a
temporary table, then one INSERT ... SELECT (see ``_write``). Names, companies and addresses come from Faker pools
drawn once per run; timestamps are put together from tables of day and time-of-day texts.

One language per run (``locale``: zh_CN by default, or en): every name, company, address, region, product, note
and campaign name comes from that language's set in ``crmadmin.demo_texts``; the two sets run in parallel, so the
same seed draws the same figures in either. Each customer's latest contact set the next follow-up about two weeks
on, so on the day of seeding the follow-up list looks like a working morning: most customers due within the
fortnight, about a fourteenth due today, a few percent overdue by days, and only customers registered in the last
two days never contacted.

A big load (a million customers, ten million purchases) drops the secondary indexes of the tables it fills and
builds them again at the end, from the models, even when it fails: sorting once per index is far cheaper than
keeping forty-odd B-trees, many on random values, in order row by row. Unique indexes and constraints, check
constraints and foreign keys stay in force throughout. Every table the load grew gets fresh planner statistics
(ANALYZE, ``crmadmin.planner``), the standing and the match keys from the steps that fill them, each as its last
step. docs/PERFORMANCE.md has the measurements.

Repeatable: the same ``seed_value`` and count give the same names, amounts and ages (time before now), whatever
the day and whatever the database already holds; only the campaigns follow the calendar. Ids continue after the
existing ones.

Each customer's standing (tier, lifecycle stage, due date) is then computed by the full refresh of
``crmadmin.standing``, the same rules the panel applies to every change.
"""
import random
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from faker import Faker
from sqlalchemy import func, insert, select, text

from . import demo_texts, pieces, planner, search
from .auth.passwords import hash_password
from .demo_texts import Texts
from .audit import log_event
from .extensions import db
from .models import Campaign, CampaignParticipant, Complaint, Customer, Interaction, Role, Transaction, User, utcnow
from .models import SurveyResponse
from .matching import fill_missing
from .standing import refresh_all
from .standing.maintain import zone

CHUNK = 10_000  # customers per chunk: one write per table and one commit per chunk
REBUILD_MIN_CUSTOMERS = 50_000  # loads this big (and at least doubling the tables) rebuild the indexes at the end
BULK_TABLES = (Customer, Transaction, Interaction, Complaint, CampaignParticipant, SurveyResponse)
PG_MAINTENANCE_WORK_MEM = "512MB"  # sort memory for CREATE INDEX on PostgreSQL
SQLITE_CACHE_KIB = 131_072  # page cache while seeding SQLite: random-valued indexes (name, mobile...) need it
DAY = 86_400
HISTORY_DAYS = 730

HAN_WORD = re.compile(r"[\u4e00-\u9fff]{2,4}")  # a company name's own part, in Chinese characters only
EMAIL_DOMAINS = ["example.com", "example.cn", "mail.example.org", "corp.example.net"]
QUANTITIES = [1, 1, 1, 2, 3]
BUYERS = 0.83  # share of customers with at least one purchase
PURCHASE_RATE = 1 / 11.7  # purchases beyond the first, exponentially distributed: ~10 per customer overall
SALES_CHANNELS = ["store", "online", "phone", "sales_rep", "partner"]
CONTACT_CHANNELS = ["phone", "email", "visit", "social_media", "online_chat", "event"]
DIRECTIONS = ["inbound", "outbound", "outbound"]
INTERACTIONS_PER_CUSTOMER = [1, 1, 2, 3, 3, 4, 7]  # three contacts per customer on average
# The follow-up morning: each latest contact set the next one two weeks on, so most customers are due within the
# next two weeks (a fourteenth of them today); OVERDUE of them were missed by one to OVERDUE_DAYS days. Customers
# registered less than UNCONTACTED_DAYS ago have not been called yet (due their cadence after registering).
FOLLOW_UP_DAYS = 14
OVERDUE = 0.03
OVERDUE_DAYS = 10
UNCONTACTED_DAYS = 2
COMPLAINT_TYPES = ["product_quality", "service", "price", "contract", "policy"]
COMPLAINT_CHANNELS = ["phone", "email", "visit", "online_chat"]
RESPOND_HOURS = {"urgent": 4, "normal": 24, "common_question": 48}
OPEN_STATUSES = ["received", "assessed", "assigned", "in_progress", "closed", "closed"]
SOURCES = ["exhibition", "website", "referral", "advertising", "phone_inquiry", "social_media", "walk_in"]
COMPANY_SIZES = ["micro", "small", "medium", "large"]
CREDIT_RATINGS = ["AAA", "AA", "A", "B", "C", None]
RESPONSES = ["invited", "responded", "attended", "converted"]
# mainland mobile prefixes (all valid for `phonenumbers`)
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                   "155", "157", "158", "159", "166", "177", "180", "181", "186", "187", "188", "189", "199"]
# (type, channel, month, day, days it runs): when each campaign happens in a year; its name, by position, in
# demo_texts
CAMPAIGNS = [("care_action", "phone", 1, 20, 14), ("product_launch", "event", 3, 18, 1),
             ("exhibition", "event", 5, 14, 4), ("promotion", "social_media", 6, 1, 18), ("seminar", "event", 9, 20, 2),
             ("promotion", "online_chat", 11, 1, 11), ("appreciation_event", "event", 12, 12, 1)] + [
            ("email_campaign", "email", 3 * q - 2, 8, 1) for q in range(1, 5)]
BUDGETS = {"event": (50_000, 200_000), "social_media": (20_000, 100_000), "online_chat": (20_000, 100_000),
           "email": (2_000, 10_000), "phone": (5_000, 20_000)}
CAMPAIGN_TAIL_DAYS = 30  # purchases this long after a campaign ends may still be credited to it
CREDIT_SHARE = 0.35  # of the purchases made while a campaign ran (or in its tail), the share credited to it

CUSTOMER_COLUMNS = ("id", "name", "kind", "gender", "birthday", "mobile", "email", "address", "region",
                    "company_name", "position", "industry", "company_size", "source", "referred_by_id", "tags",
                    "credit_rating", "owner_id", "version", "created_at", "updated_at")
TRANSACTION_COLUMNS = ("id", "customer_id", "product", "quantity", "amount", "currency", "occurred_at", "channel",
                       "status", "campaign_id", "version", "created_at", "updated_at")
INTERACTION_COLUMNS = ("customer_id", "channel", "direction", "summary", "outcome", "handled_by_id", "occurred_at",
                       "next_follow_up_on", "version", "created_at", "updated_at")
COMPLAINT_COLUMNS = ("customer_id", "subject", "description", "channel", "received_at", "type", "severity",
                     "urgency", "status", "assignee_id", "department", "solution", "satisfaction_score", "due_at",
                     "closed_at", "respond_due_at", "responded_at", "next_due_at", "version", "created_at",
                     "updated_at")
PARTICIPANT_COLUMNS = ("campaign_id", "customer_id", "response", "responded_at", "version", "created_at",
                       "updated_at")
SURVEY_COLUMNS = ("customer_id", "kind", "score", "channel", "answered_on", "comment", "complaint_id", "campaign_id",
                  "entered_by_id", "version", "created_at", "updated_at")

# Satisfaction surveys (回访, 满意度调查): drawn from a random stream of their own, so the rest stays as it was
SURVEY_SEED_OFFSET = 7_919
SURVEYED = 0.25  # share of customers who answered a survey (besides those about a complaint or a campaign)
SURVEYS_PER_CUSTOMER = [1, 1, 1, 2, 3]
NPS_SHARE = 0.55  # of those answers, NPS questions; the rest CSAT
SURVEY_CHANNELS = (("phone", "email", "online_chat", "visit", "social_media"), (5, 3, 1, 1, 1))
# weights of NPS scores 0..10 and CSAT scores 1..5: regular buyers are happier than one-off or no buyers
NPS_WEIGHTS = {True: (1, 1, 1, 1, 2, 3, 5, 10, 16, 24, 20), False: (2, 2, 3, 4, 5, 8, 10, 14, 16, 12, 8)}
CSAT_WEIGHTS = {True: (2, 4, 14, 42, 38), False: (5, 10, 25, 38, 22)}
REGULAR_BUYER = 5  # paid purchases
COMPLAINT_SURVEYED = 0.6  # of closed complaints, the share whose customer answered a CSAT question about it
CAMPAIGN_SURVEYED = 0.3  # of those who attended or converted, the share who answered about the campaign


def ensure_demo_clerks(count: int = 5, words: Texts = demo_texts.ZH_CN) -> list[int]:
    """Owners for demo customers: the active clerks there are, topped up to `count` with demo clerks.

    Demo clerks get an unusable random password; an administrator sets one to use them.
    """
    clerk_role = db.session.scalar(select(Role).where(Role.name == "clerk"))
    ids = []
    if clerk_role is not None:
        ids = sorted(u.id for u in db.session.scalars(select(User).where(User.active.is_(True)))
                     if clerk_role in u.roles)
    n = 0
    while len(ids) < count:
        n += 1
        user = db.session.scalar(select(User).where(User.username == f"demo.clerk{n}"))
        if user is None:
            user = User(username=f"demo.clerk{n}", display_name=words.clerk_name.format(n=n),
                        password_hash=hash_password(secrets.token_urlsafe(24)),
                        roles=[clerk_role] if clerk_role is not None else [])
            db.session.add(user)
            db.session.flush()
        if user.active and user.id not in ids:
            ids.append(user.id)
    return ids


def _next_id(model) -> int:
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


def _bump_sequences(*models) -> None:
    """After explicit ids, move the PostgreSQL sequences past them so the next normal insert does not collide."""
    if db.engine.dialect.name == "postgresql":
        for model in models:
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('\"{model.__tablename__}\"', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM \"{model.__tablename__}\"))"))


def _write(conn, table: str, columns: tuple, rows: list) -> None:
    """Bulk-write tuples in the session's transaction: COPY with psycopg, else executemany."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    if conn.dialect.driver == "psycopg":
        with conn.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
    elif conn.dialect.name == "sqlite":
        # SQLite checks an enumeration's CHECK (column IN (...)) by building a lookup table of the list each time
        # a statement runs, so an executemany pays it on every row (~3 µs a column: most of the insert time of a
        # customer). Staged in a temporary table without constraints, the rows are then checked and copied by one
        # INSERT ... SELECT, which builds each list once. The staging table takes the column types of the real one.
        stage = f'temp."load_{table}"'
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {stage}")  # one a rollback brought back
        conn.exec_driver_sql(f'CREATE TEMP TABLE "load_{table}" AS SELECT {names} FROM main."{table}" WHERE 0')
        try:
            conn.exec_driver_sql(f'INSERT INTO {stage} ({names}) VALUES ({", ".join(["?"] * len(columns))})', rows)
            conn.exec_driver_sql(f'INSERT INTO main."{table}" ({names}) SELECT {names} FROM {stage}')
        finally:
            conn.exec_driver_sql(f"DROP TABLE {stage}")
    else:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        conn.exec_driver_sql(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join([mark] * len(columns))})', rows)


def _campaigns(rng: random.Random, owners: list[int], now: datetime, words: Texts) -> tuple[list[dict], int]:
    """The campaigns of the last two years, reusing those a previous run made (same name); and how many are new."""
    today = now.date()
    wanted = []
    for year in range(today.year - 2, today.year + 1):
        for title, (ctype, channel, month, day, days) in zip(words.campaigns, CAMPAIGNS):
            starts = date(year, month, day)
            low, high = BUDGETS[channel]
            budget = rng.randrange(low, high, 500)
            spent = rng.uniform(0.7, 1.1)  # drawn for every campaign, so the stream stays the same
            owner = rng.choice(owners)
            if not today - timedelta(days=HISTORY_DAYS) <= starts <= today:
                continue
            ends = starts + timedelta(days=days - 1)
            finished = ends < today
            wanted.append({
                "name": title.format(y=year), "type": ctype, "channel": channel,
                "status": "finished" if finished else "running", "starts_on": starts, "ends_on": ends,
                "budget": Decimal(budget),
                "actual_cost": Decimal(int(budget * (spent if finished else spent / 2))),
                "description": words.campaign_description, "owner_id": owner, "version": 1,
                "created_at": datetime.combine(starts - timedelta(days=30), datetime.min.time()),
                "updated_at": datetime.combine(min(ends, today), datetime.min.time()),
            })
    existing = {c.name: c for c in db.session.scalars(
        select(Campaign).where(Campaign.name.in_([c["name"] for c in wanted])))}
    new = [c for c in wanted if c["name"] not in existing]
    next_id = _next_id(Campaign)
    for n, row in enumerate(new):
        row["id"] = next_id + n
        row["created_at"] = min(row["created_at"], now)
    if new:
        db.session.execute(insert(Campaign.__table__), new)
        _bump_sequences(Campaign)
    for row in wanted:
        if row["name"] in existing:
            old = existing[row["name"]]
            row.update(id=old.id, starts_on=old.starts_on, ends_on=old.ends_on or old.starts_on)
    return wanted, len(new)


def _closed_complaints(after_id: int) -> list:
    """The closed complaints just written (ids past `after_id`): their survey answers refer to them."""
    c = Complaint
    return db.session.execute(select(c.id, c.customer_id, c.closed_at, c.satisfaction_score, c.assignee_id)
                              .where(c.id > after_id, c.status == "closed", c.closed_at.is_not(None))).all()


def _survey_rows(rng: random.Random, customers: list, purchases: list, complaints: list, participants: list,
                 stamp, now: datetime, words: Texts) -> list[tuple]:
    """Survey answers of a chunk of customers: NPS and CSAT after calls and e-mails, CSAT about a closed complaint
    (its score at closing, by phone, within two days), and about a campaign the customer attended."""
    paid = {}
    for row in purchases:  # TRANSACTION_COLUMNS: customer_id at 1, status at 8
        if row[8] == "paid":
            paid[row[1]] = paid.get(row[1], 0) + 1
    rows = []

    def add(cid, kind, score, channel, age, comment, complaint_id, campaign_id, entered_by):
        age = max(0, age)
        answered = stamp(age)
        entered = stamp(max(0, age - int(rng.random() * 8 * 3600)))  # typed in up to eight hours later
        rows.append((cid, kind, score, channel, answered[:10], comment, complaint_id, campaign_id, entered_by, 1,
                     entered, entered))

    def comment_for(kind, score):
        good = score >= (9 if kind == "nps" else 4)
        bad = score <= (6 if kind == "nps" else 2)
        if rng.random() < 0.3 and (good or bad):
            return rng.choice(words.comments_good if good else words.comments_bad)
        return None

    for row in customers:  # CUSTOMER_COLUMNS: id at 0, owner_id at 17, created_at at 19
        cid, owner, created = row[0], row[17], datetime.fromisoformat(row[19])
        if rng.random() >= SURVEYED:
            continue
        regular = paid.get(cid, 0) >= REGULAR_BUYER
        age = int((now - created).total_seconds())
        for _ in range(rng.choice(SURVEYS_PER_CUSTOMER)):
            kind = "nps" if rng.random() < NPS_SHARE else "csat"
            scores = range(0, 11) if kind == "nps" else range(1, 6)
            weights = NPS_WEIGHTS[regular] if kind == "nps" else CSAT_WEIGHTS[regular]
            score = rng.choices(scores, weights)[0]
            channel = rng.choices(*SURVEY_CHANNELS)[0]
            add(cid, kind, score, channel, int(rng.random() * age), comment_for(kind, score), None, None,
                None if channel == "email" else owner)  # e-mailed answers come in by import

    for complaint_id, cid, closed_at, score, assignee in complaints:
        if rng.random() >= COMPLAINT_SURVEYED or score is None:
            continue
        age = int((now - closed_at).total_seconds()) - int(rng.random() * 2 * 86_400)
        add(cid, "csat", score, "phone", age, comment_for("csat", score), complaint_id, None, assignee)

    owners = {row[0]: row[17] for row in customers}
    for campaign_id, cid, response, answered, *_rest in participants:  # PARTICIPANT_COLUMNS
        if response not in ("attended", "converted") or answered is None or rng.random() >= CAMPAIGN_SURVEYED:
            continue
        score = rng.choices(range(1, 6), CSAT_WEIGHTS[True])[0]
        age = int((now - datetime.fromisoformat(answered)).total_seconds())
        add(cid, "csat", score, rng.choice(("phone", "email")), age, comment_for("csat", score), None, campaign_id,
            owners.get(cid))
    return rows


def _secondary_indexes(models) -> list:
    """The indexes of these tables that only speed up reads: not the primary keys, nor anything unique."""
    return [index for model in models for index in sorted(model.__table__.indexes, key=lambda i: i.name)
            if not index.unique]


def _sqlite_pragmas(conn, **values) -> dict:
    """Set PRAGMAs on a SQLite connection; returns the values they had, to set back."""
    before = {}
    for name, value in values.items():
        before[name] = conn.exec_driver_sql(f"PRAGMA {name}").scalar()
        conn.exec_driver_sql(f"PRAGMA {name}={value}")
    return before


def _drop_indexes(indexes: list) -> None:
    """Drop these indexes before a big load (committed); `_create_indexes` builds them again."""
    db.session.commit()  # the demo clerks and campaigns; on SQLite, the write lock with them
    with db.engine.begin() as conn:
        for index in indexes:
            index.drop(bind=conn, checkfirst=True)
        search.drop(conn)  # the trigram indexes, and on SQLite the triggers that fill its search table
        search.drop_documents(conn)
        pieces.drop(conn)  # the same for the index of one- and two-character pieces


def _create_indexes(indexes: list) -> None:
    """Build the indexes again from the models (same names and definitions as the migrations), one commit each.

    Runs after a load that failed as well, so the schema is never left without them; those already there are
    skipped. One sort per index is far cheaper than keeping a dozen B-trees on random values in order row by row.
    """
    db.session.rollback()  # after a failure: the aborted chunk (and, on SQLite, its lock)
    engine = db.engine
    with engine.connect() as conn, ThreadPoolExecutor(max_workers=1) as aside:  # one connection, for its settings
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # sorts in two threads; a larger page cache or sorting in memory (temp_store) made it slower
            saved = _sqlite_pragmas(conn, threads=2)
        else:
            conn.exec_driver_sql(f"SET maintenance_work_mem = '{PG_MAINTENANCE_WORK_MEM}'")
            # the index of pieces on a second connection meanwhile: its GIN builds (about 200 s at a million
            # customers, one core) would otherwise follow the B-trees and pushed the load past 15 minutes
            pieces_built = aside.submit(_create_pieces, engine)
        conn.commit()
        try:
            for index in indexes:
                index.create(bind=conn, checkfirst=True)
                conn.commit()
            search.create(conn)  # built from the loaded rows in one pass
            search.create_documents(conn)
            conn.commit()
            if sqlite:  # one writer at a time
                pieces.create(conn)
                conn.commit()
            else:
                pieces_built.result()
        finally:
            conn.rollback()
            if sqlite:
                for name, value in saved.items():
                    conn.exec_driver_sql(f"PRAGMA {name}={value}")
            else:
                conn.exec_driver_sql("RESET maintenance_work_mem")
            conn.commit()


def _create_pieces(engine) -> None:
    """PostgreSQL: the index of pieces on a connection of its own (CREATE INDEX does not block another's)."""
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SET maintenance_work_mem = '{PG_MAINTENANCE_WORK_MEM}'")
        pieces.create(conn)
        conn.commit()


def _address(fake: Faker, chinese: bool, cities: tuple[str, ...]) -> str:
    """A street address in one of these cities, written the way the language writes it."""
    city, number = fake.random_element(cities), fake.random_int(1, 999)
    if chinese:
        return f"{city}市{fake.district().rstrip('区县')}区{fake.street_name()}{number}号"
    return f"{number} {fake.street_name()}, {city}"


def _company(fake: Faker, chinese: bool, cities: tuple[str, ...], trades: tuple[str, ...]) -> str:
    """A company of one of these cities: 上海华信科技有限公司, Shanghai Davis Technology Co., Ltd."""
    city, trade = fake.random_element(cities), fake.random_element(trades)
    if chinese:
        prefix = fake.company_prefix()
        while not HAN_WORD.fullmatch(prefix) or trade[:2] in prefix:  # Faker's list has "数字100", "...信息"
            prefix = fake.company_prefix()
        return f"{city}{prefix}{trade}有限公司"
    return f"{city} {fake.last_name()} {trade} Co., Ltd."


def seed(customers: int, seed_value: int = 2024, progress=print, rebuild_indexes: bool | None = None,
         locale: str = demo_texts.DEFAULT_LOCALE) -> dict:
    """Insert `customers` customers and their history, in one language (`locale`); returns the counts inserted.

    For a big load (`rebuild_indexes`; by default when it adds at least REBUILD_MIN_CUSTOMERS customers and at
    least as many as there are) the secondary indexes of the loaded tables are dropped first and built again at
    the end, even if the load fails. Unique indexes and constraints stay in place throughout.
    """
    rng = random.Random(seed_value)
    rand, choices = rng.random, rng.choices
    started = time.monotonic()

    def say(message: str) -> None:
        """Progress of a big load, with the seconds since it started (small loads run quietly)."""
        if progress and customers >= 20_000:
            progress(f"  [{time.monotonic() - started:6.1f} s] {message}")

    def choice(seq):
        """rng.choice without its rejection sampling: twice as fast, and as good for demo data."""
        return seq[int(rand() * len(seq))]

    words = demo_texts.texts(locale)
    fake = Faker(words.faker)
    fake.seed_instance(seed_value)
    owners = ensure_demo_clerks(words=words)
    now = utcnow().replace(microsecond=0)
    today = now.date()
    seconds_today = (now - datetime.combine(today, datetime.min.time())).seconds

    # pools drawn once: names are a surname and a given name drawn apart, so they rarely repeat
    pool = max(200, min(customers, 2000))
    last_names = [fake.last_name() for _ in range(pool)]
    first_names = {"male": [fake.first_name_male() for _ in range(pool)],
                   "female": [fake.first_name_female() for _ in range(pool)]}
    chinese = locale == "zh_CN"
    name_format = "{last}{first}" if chinese else "{first} {last}"
    # addresses and companies by region, in the region's cities, so a customer's region and address agree
    regions = [region for region, _cities in words.regions]
    addresses, companies = [], []
    for _region, cities in words.regions:
        addresses.append([_address(fake, chinese, cities) for _ in range(max(50, pool // 4))])
        companies.append([_company(fake, chinese, cities, words.trades) for _ in range(max(25, pool // 8))])

    # Timestamps as stored ("YYYY-MM-DD HH:MM:SS.000000", ``now`` has no microseconds), put together from two
    # tables made once: the text of each day, by day number, and of each second of a day. A day number is
    # ``s // DAY`` where ``s`` counts seconds from the start of the proleptic calendar (``date.toordinal``).
    now_s = today.toordinal() * DAY + seconds_today
    first_day = today.toordinal() - HISTORY_DAYS - 60  # day number of index 0: everything happens after it
    day_text = [date.fromordinal(first_day + k).isoformat() for k in range(HISTORY_DAYS + 120)]
    day_prefix = [d + " " for d in day_text]
    clock = [f"{h:02d}:{m:02d}:{sec:02d}.000000" for h in range(24) for m in range(60) for sec in range(60)]

    def stamp(age: int) -> str:
        """The timestamp `age` seconds before now, as stored (negative: in the future)."""
        s = now_s - age
        return day_prefix[s // DAY - first_day] + clock[s % DAY]

    campaigns, new_campaigns = _campaigns(rng, owners, now, words)
    windows = []  # (id, days ago it started, days ago it ended, end in seconds ago)
    for c in campaigns:
        end_age = int((now - datetime.combine(c["ends_on"] + timedelta(days=1), datetime.min.time())).total_seconds())
        windows.append((c["id"], (today - c["starts_on"]).days, (today - c["ends_on"]).days, end_age))
    # the campaigns a purchase made on each day (by index in day_text) may be credited to
    credited = [[cid for cid, start, end, _ in windows if end - CAMPAIGN_TAIL_DAYS <= ago <= start]
                for ago in (max(0, today.toordinal() - first_day - k) for k in range(len(day_text)))]

    counts = {"customers": 0, "transactions": 0, "interactions": 0, "complaints": 0, "participants": 0}
    counts["surveys"] = 0
    survey_rng = random.Random(seed_value + SURVEY_SEED_OFFSET)
    first_customer, next_tx = _next_id(Customer), _next_id(Transaction)
    if rebuild_indexes is None:
        rebuild_indexes = customers >= REBUILD_MIN_CUSTOMERS and customers >= first_customer - 1
    history = HISTORY_DAYS * DAY
    # the hot loops below draw from these directly (inlined `choice`): same draws, no call per value
    products, summaries, outcomes = words.products, words.summaries, words.outcomes
    n_products, n_quantities, n_sales = len(products), len(QUANTITIES), len(SALES_CHANNELS)
    n_contact, n_directions, n_summaries, n_outcomes = (len(CONTACT_CHANNELS), len(DIRECTIONS), len(summaries),
                                                        len(outcomes))
    n_regions = len(regions)
    # the follow-up morning: the day number (index in day_text) of today where the panel is
    local_today = now.replace(tzinfo=timezone.utc).astimezone(zone()).date()
    due_today = local_today.toordinal() - first_day
    uncontacted = UNCONTACTED_DAYS * DAY
    n_interactions, n_owners = len(INTERACTIONS_PER_CUSTOMER), len(owners)
    recent = 14 * DAY  # purchases younger than this may still be pending
    expovariate = rng.expovariate
    sqlite_cache = None
    dropped = _secondary_indexes(BULK_TABLES) if rebuild_indexes else []
    try:
        if dropped:
            _drop_indexes(dropped)
            say(f"{len(dropped)} secondary indexes dropped for the load")
        done = 0
        while done < customers:
            batch = min(CHUNK, customers - done)
            cust_rows, tx_rows, ia_rows, cp_rows, part_rows = [], [], [], [], []
            add_tx, add_ia = tx_rows.append, ia_rows.append
            for cid in range(first_customer + done, first_customer + done + batch):
                # seconds since the customer was created: spread evenly over two years, in id order
                age = int(history * (customers - (cid - first_customer) - rand()) / customers)
                created = stamp(age)
                owner = owners[int(rand() * n_owners)]
                is_company = rand() < 0.35
                gender = ("male", "female")[int(rand() * 2)]

                # purchases: most buy, many a few times, a few very often (ten per customer on average), all
                # after the customer was created
                purchases = 1 + min(int(expovariate(PURCHASE_RATE)), 150) if rand() < BUYERS else 0
                paid = 0
                span = age + 1
                for _ in range(purchases):
                    product, price = products[int(rand() * n_products)]
                    t = int(rand() * span)
                    qty = QUANTITIES[int(rand() * n_quantities)]
                    cents = price * qty * (80 + int(rand() * 41))  # 80%..120% of list price, in cents
                    if t < recent and rand() < 0.15:
                        status = "pending"
                    elif rand() < 0.04:
                        status = "refunded"
                    else:
                        status = "paid"
                        paid += 1
                    s = now_s - t
                    k = s // DAY - first_day
                    credit, options = rand(), credited[k]
                    campaign_id = options[int(credit / CREDIT_SHARE * len(options))] \
                        if options and credit < CREDIT_SHARE else None
                    when = day_prefix[k] + clock[s % DAY]
                    updated = stamp(max(0, t - int(rand() * recent))) if status == "refunded" else when
                    add_tx((next_tx, cid, product, qty, cents, "CNY", when, SALES_CHANNELS[int(rand() * n_sales)],
                            status, campaign_id, 1, when, updated))
                    next_tx += 1

                # contacts: the latest set the next follow-up (crmadmin.standing.rules.next_due) two weeks on, so
                # most customers are due within two weeks and a few are overdue; the earlier ones came before it
                contacts = INTERACTIONS_PER_CUSTOMER[int(rand() * n_interactions)] if age >= uncontacted else 0
                late, ahead, moment = rand() < OVERDUE, rand(), rand()
                ahead = -1 - int(ahead * OVERDUE_DAYS) if late else int(ahead * FOLLOW_UP_DAYS)  # due in days
                latest = int((FOLLOW_UP_DAYS - ahead - moment) * DAY)  # seconds ago: two weeks before it is due
                due = due_today + ahead
                if latest > age:  # registered since: called some time after registering
                    latest = int(moment * span)
                    due = (now_s - latest) // DAY - first_day + FOLLOW_UP_DAYS
                for n in range(contacts - 1, -1, -1):  # the latest last: it wins a tie on time by its higher id
                    s = now_s - (latest + int(rand() * (span - latest)) if n else latest)
                    k = s // DAY - first_day
                    when = day_prefix[k] + clock[s % DAY]
                    add_ia((cid, CONTACT_CHANNELS[int(rand() * n_contact)], DIRECTIONS[int(rand() * n_directions)],
                            summaries[int(rand() * n_summaries)], outcomes[int(rand() * n_outcomes)], owner, when,
                            day_text[due if not n else k + FOLLOW_UP_DAYS], 1, when, when))

                if rand() < (0.04 if paid else 0.01):
                    t = int(rand() * (age + 1))
                    received = stamp(t)
                    urgency = choices(("urgent", "normal", "common_question"), (2, 5, 3))[0]
                    if t > 30 * DAY:
                        status = "closed" if rand() < 0.93 else "rejected"
                    else:
                        status = choice(OPEN_STATUSES)
                    done_at = stamp(max(0, t - int(3600 * (2 + rand() * 94)))) \
                        if status in ("closed", "rejected") else None
                    # the default due times (crmadmin.complaints.deadlines): first response, then resolution
                    respond_due = stamp(t - RESPOND_HOURS[urgency] * 3600)
                    due = stamp(t - (24 if urgency == "urgent" else 72) * 3600)
                    responded = None if status == "received" else stamp(max(0, t - int(3600 * rand() * 6)))
                    next_due = None if done_at else respond_due if responded is None else due
                    cp_rows.append((cid, choice(words.complaint_subjects), words.complaint_description,
                                    choice(COMPLAINT_CHANNELS), received, choice(COMPLAINT_TYPES),
                                    "major" if rand() < 0.1 else "general", urgency, status, owner, choice(words.departments),
                                    choice(words.solutions) if status == "closed" else None,
                                    choices((2, 3, 4, 5), (1, 2, 4, 3))[0] if status == "closed" else None,
                                    due, done_at, respond_due, responded, next_due, 1, received,
                                    done_at or received))

                if rand() < 0.12:
                    # invited to one or two campaigns that had not ended before the customer existed; the same
                    # draws are made whatever the campaigns, so the rest of the data does not depend on the date
                    open_to = [w for w in windows if w[3] < age]
                    first, second, two = rand(), rand(), rand() < 0.25
                    picks = []
                    if open_to:
                        i = int(first * len(open_to))
                        picks.append(open_to[i])
                        if two and len(open_to) > 1:
                            j = int(second * (len(open_to) - 1))
                            picks.append(open_to[j + (j >= i)])
                    for slot in range(2):
                        response, r = choices(RESPONSES, (5, 3, 2, 1))[0], rand()
                        if slot >= len(picks):
                            continue
                        campaign_id, start, _, end_age = picks[slot]
                        invited = min(age, start * DAY + seconds_today + 14 * DAY)
                        answered = None
                        if response != "invited":
                            low = max(0, end_age - 7 * DAY)
                            answered = stamp(low + int(r * (invited - low)))
                        part_rows.append((campaign_id, cid, response, answered, 1, stamp(invited),
                                          answered or stamp(invited)))

                name = name_format.format(last=choice(last_names), first=choice(first_names[gender]))
                region = int(rand() * n_regions)
                source = choice(SOURCES)
                birthday = None if is_company else \
                    f"{1955 + int(rand() * 49)}-{1 + int(rand() * 12):02d}-{1 + int(rand() * 28):02d}"
                # a referral names an earlier customer of this run
                referrer = first_customer + int(rand() * (cid - first_customer)) \
                    if source == "referral" and cid > first_customer else None
                cust_rows.append((
                    cid, name, "company" if is_company else "person", None if is_company else gender,
                    birthday,
                    f"+86{choice(MOBILE_PREFIXES)}{int(rand() * 10**8):08d}",
                    f"c{cid}.{int(rand() * 10**4)}@{choice(EMAIL_DOMAINS)}" if rand() < 0.8 else None,
                    choice(addresses[region]), regions[region],
                    choice(companies[region]) if is_company or rand() < 0.3 else None,
                    choice(words.positions) if is_company else None, choice(words.industries),
                    choice(COMPANY_SIZES) if is_company else None, source,
                    referrer,
                    choice(words.tags), choice(CREDIT_RATINGS), owner, 1, created, created,
                ))

            conn = db.session.connection()
            if conn.dialect.name == "sqlite":
                sqlite_cache = sqlite_cache or conn.exec_driver_sql("PRAGMA cache_size").scalar()
                conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            _write(conn, "customer", CUSTOMER_COLUMNS, cust_rows)
            _write(conn, "transaction", TRANSACTION_COLUMNS, tx_rows)
            _write(conn, "interaction", INTERACTION_COLUMNS, ia_rows)
            complaints_before = _next_id(Complaint) - 1
            _write(conn, "complaint", COMPLAINT_COLUMNS, cp_rows)
            _write(conn, "campaign_participant", PARTICIPANT_COLUMNS, part_rows)
            survey_rows = _survey_rows(survey_rng, cust_rows, tx_rows, _closed_complaints(complaints_before),
                                       part_rows, stamp, now, words)
            _write(conn, "survey_response", SURVEY_COLUMNS, survey_rows)
            counts["surveys"] += len(survey_rows)
            _bump_sequences(Customer, Transaction)
            db.session.commit()
            counts["customers"] += batch
            counts["transactions"] += len(tx_rows)
            counts["interactions"] += len(ia_rows)
            counts["complaints"] += len(cp_rows)
            counts["participants"] += len(part_rows)
            done += batch
            say(f"{done:,} / {customers:,} customers")
    finally:
        if sqlite_cache is not None:  # back to the usual page cache on the pooled connection
            db.session.rollback()  # after a failure: the chunk's rows
            db.session.connection().exec_driver_sql(f"PRAGMA cache_size={sqlite_cache}")
        if dropped:
            say(f"building {len(dropped)} indexes again...")
            _create_indexes(dropped)
            say("indexes built")
    counts["campaigns"] = new_campaigns
    with db.engine.begin() as conn:  # before the refresh below, which reads these tables
        analyzed = planner.analyze_grown(conn, {Customer: counts["customers"], Transaction: counts["transactions"],
                                                Interaction: counts["interactions"], Complaint: counts["complaints"],
                                                CampaignParticipant: counts["participants"],
                                                SurveyResponse: counts["surveys"], Campaign: new_campaigns,
                                                User: len(owners)})
    if analyzed:
        say(f"statistics updated (ANALYZE {', '.join(analyzed)})")
    # bulk rows bypass the per-row log (a million entries would drown it); the load itself is logged
    log_event(db.session, "bulk_insert", details={"what": "demo data", "seed": seed_value, **counts})
    db.session.commit()
    say("refreshing the standing of every customer...")
    refresh_all(db.engine, rebuild_revenue=True)  # bulk rows bypassed the session, as they did the log
    say("standing refreshed")
    with db.engine.begin() as connection:  # the duplicate-detection keys of the customers just loaded
        fill_missing(connection, progress=lambda done: say(f"match keys: {done:,} customers") if done % 100_000 == 0
                     else None)
    return counts
