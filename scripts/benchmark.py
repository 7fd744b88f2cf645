"""Time the panel's pages through the app at realistic scale, next to the raw SQL each page runs.

    .venv/bin/python scripts/benchmark.py [--customers 1000000] [--repeat 30] [--refresh]

The database is the app's own (DATABASE_URL, or the SQLite file under CRM_INSTANCE_DIR): the script migrates it,
adds demo customers until it holds --customers, and reuses them on the next run. It signs in through the login form
as an administrator and as a clerk (demo.clerk1, who owns a fifth of the demo customers) with passwords it sets for
the run, so point it at a benchmark database only. Each page is requested through the whole WSGI app (routing,
sessions, permissions, queries, templates); its SQL statements are captured once and then re-run on their own on a
driver connection, so the table shows what the framework adds to the database's own time. Summaries that are
cached (dashboard, tier totals) are timed warm and, with the cache cleared before every request, cold.
Results are printed as a Markdown table (docs/PERFORMANCE.md keeps the figures of record).
"""
import argparse
import gc
import os
import platform
import re
import secrets
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

from crmadmin import create_app  # noqa: E402
from crmadmin.auth.passwords import hash_password  # noqa: E402
from crmadmin.cli import sync_builtin_roles  # noqa: E402
from crmadmin.extensions import cache, db  # noqa: E402
from crmadmin.models import Customer, CustomerStanding, Role, Transaction, User  # noqa: E402

# (label, who, path, cold): cold clears the summary cache before each request
PAGES = [
    ("Dashboard", "admin", "/admin/", False),
    ("Dashboard, cache cleared", "admin", "/admin/", True),
    ("Dashboard (clerk)", "clerk", "/admin/", False),
    ("Dashboard (clerk), cache cleared", "clerk", "/admin/", True),
    ("Value tiers, page 1", "admin", "/admin/tiers/", False),
    ("Value tiers, page 1, cache cleared", "admin", "/admin/tiers/", True),
    ("Value tiers, page 1 (clerk)", "clerk", "/admin/tiers/", False),
    ("Churn warning, page 1", "admin", "/admin/churn/", False),
    ("Churn warning, page 1 (clerk)", "clerk", "/admin/churn/", False),
    ("Follow-ups, page 1", "admin", "/admin/followups/", False),
    ("Follow-ups, overdue (clerk)", "clerk", "/admin/followups/?due=overdue", False),
    ("Follow-ups, team by owner, cache cleared", "admin", "/admin/followups/", True),
    ("Customers, page 1", "admin", "/admin/customer/", False),
    ("Transactions, page 1", "admin", "/admin/transaction/", False),
    ("Duplicates, page 1", "admin", "/admin/duplicates/", False),
    ("Duplicates, same email, page 1", "admin", "/admin/duplicates/?kind=email", False),
    ("Duplicates, similar names, page 1", "admin", "/admin/duplicates/?kind=name", False),
]


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    if found is None:
        raise SystemExit("no CSRF token on the sign-in page")
    return found.group(1)


def scale_pages(app) -> list[tuple]:
    """Pages whose address depends on the data: deep pages, searches by real values, a filter, a long history."""
    from crmadmin.admin.filter_links import filtered_url
    from crmadmin.admin.keyset import encode

    with app.app_context():
        heaviest = db.session.scalar(select(CustomerStanding.customer_id)
                                     .order_by(CustomerStanding.purchase_count.desc()).limit(1))
        # the middle of the data set, not counting the customers this script's "Create a customer" added: the
        # searches below take its words, which moved with every run
        made_here = Customer.name.like("Benchmark customer %")
        middle = db.session.get(Customer, db.session.scalar(select(func.max(Customer.id)).where(~made_here)) // 2)
        company = db.session.scalar(select(Customer.company_name).where(Customer.id >= middle.id,
                                                                        Customer.company_name.is_not(None))
                                    .order_by(Customer.id).limit(1))
        view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "customer")
        with app.test_request_context():
            by_region = filtered_url(view, ((Customer.region, "equals"), middle.region))
        history = db.session.scalar(select(CustomerStanding.purchase_count)
                                    .where(CustomerStanding.customer_id == heaviest))
        # where the pager's "next" link stands after walking halfway: the row at that depth, as its cursor
        depth = {"c": middle.id, "t": (db.session.scalar(select(func.max(Transaction.id))) or 2) // 2}
        deep = {label: db.session.execute(stmt.offset(depth[label[0]] - 1).limit(1)).one() for label, stmt in (
            ("cid", select(Customer.id).order_by(Customer.id.desc())),
            ("cname", select(Customer.name, Customer.id).order_by(Customer.name, Customer.id)),
            ("tx", select(Transaction.occurred_at, Transaction.id)
             .order_by(Transaction.occurred_at.desc(), Transaction.id.desc())))}
        two_chars = db.session.scalar(select(Customer.name).where(Customer.id >= middle.id,
                                                                  func.length(Customer.name) == 2)
                                      .order_by(Customer.id).limit(1)) or middle.name[:2]
        two_words = db.session.scalar(select(Customer.name).where(Customer.id >= middle.id, Customer.name.like("% %"))
                                      .order_by(Customer.id).limit(1)) or middle.name
    email_part = (middle.email or "c1.").split("@")[0]
    # the address (search by address, issue 27): English demo addresses are "<number> <street>, <city>"
    address = middle.address or "1 Main Street, Shanghai"
    street = re.sub(r"^\d+\s*", "", address.split(",")[0]) or address
    city = address.rsplit(",", 1)[-1].strip() or address
    first_name = middle.name.split()[0]
    company_part = (company or middle.name)[:3]
    after = {label: encode(list(row)) for label, row in deep.items()}
    return [
        ("Customers, page 500 (numbered link: offset 9,980)", "admin", "/admin/customer/?page=499", False),
        (f"Customers, page {depth['c'] // 20 + 1:,} (next past row {depth['c']:,})", "admin",
         f"/admin/customer/?page={depth['c'] // 20}&after={after['cid']}", False),
        (f"Customers by name, page {depth['c'] // 20 + 1:,} (next past row {depth['c']:,})", "admin",
         f"/admin/customer/?sort=1&page={depth['c'] // 20}&after={after['cname']}", False),
        (f"Transactions, page {depth['t'] // 20 + 1:,} (next past row {depth['t']:,})", "admin",
         f"/admin/transaction/?page={depth['t'] // 20}&after={after['tx']}", False),
        (f"Customers, search by a full name ({len(middle.name)} characters)", "admin",
         f"/admin/customer/?search={middle.name}", False),
        (f"Customers, search by a first and last name ({two_words})", "admin",
         f"/admin/customer/?search={two_words}", False),
        ("Customers, search by two names whose trigrams are everywhere (William Alexander)", "admin",
         "/admin/customer/?search=William%20Alexander", False),
        (f"Transactions, search by a first and last name ({two_words})", "admin",
         f"/admin/transaction/?search={two_words}", False),
        ("Customers, search by 7 digits of a mobile", "admin", f"/admin/customer/?search={middle.mobile[5:12]}", False),
        ("Customers, search by an e-mail's local part", "admin", f"/admin/customer/?search={email_part}", False),
        ("Customers, search by 3 characters of a company", "admin", f"/admin/customer/?search={company_part}", False),
        ("Customers, search by a word most companies hold (有限公司)", "admin", "/admin/customer/?search=有限公司",
         False),
        ("Customers, search by 2 characters most companies hold (科技)", "admin", "/admin/customer/?search=科技",
         False),
        (f"Customers, search by a two-character name ({two_chars})", "admin", f"/admin/customer/?search={two_chars}",
         False),
        (f"Customers, search by one character ({two_chars[0]})", "admin",
         f"/admin/customer/?search={two_chars[0]}", False),
        (f"Transactions, search by a two-character name ({two_chars})", "admin",
         f"/admin/transaction/?search={two_chars}", False),
        ("Customers, search by a fragment of nearly every e-mail (com)", "admin", "/admin/customer/?search=com", False),
        ("Customers, search by three letters in 1.4 % of the customers (Ste)", "admin", "/admin/customer/?search=Ste",
         False),
        ("Customers, search by three letters in 2 % of the customers (Mar)", "admin", "/admin/customer/?search=Mar",
         False),
        ("Customers, search by a word in 0.5 % of the customers (Hill)", "admin", "/admin/customer/?search=Hill",
         False),
        ("Customers, search by two words each in a fifth of the e-mails, together in none (corp mail)", "admin",
         "/admin/customer/?search=corp%20mail", False),
        ("Customers, search by two words many companies hold together (科技 有限公司)", "admin",
         "/admin/customer/?search=科技%20有限公司", False),
        (f"Customers, search by a whole address ({len(address)} characters)", "admin",
         f"/admin/customer/?search={address}", False),
        (f"Customers, search by a street of the addresses ({street})", "admin",
         f"/admin/customer/?search={street}", False),
        (f"Customers, search by a city, in addresses and companies ({city})", "admin",
         f"/admin/customer/?search={city}", False),
        (f"Customers, search by a first name and a street of the addresses ({first_name} {street})", "admin",
         f"/admin/customer/?search={first_name} {street}", False),
        (f"Customers, search by a street of the addresses ({street}, clerk)", "clerk",
         f"/admin/customer/?search={street}", False),
        (f"Transactions, search by a street of the customers' addresses ({street})", "admin",
         f"/admin/transaction/?search={street}", False),
        ("Customers, search by 7 digits of a mobile (clerk)", "clerk",
         f"/admin/customer/?search={middle.mobile[5:12]}", False),
        ("Transactions, search by 7 digits of a customer's mobile", "admin",
         f"/admin/transaction/?search={middle.mobile[5:12]}", False),
        ("Transactions, search by a product (服务套餐: one purchase in ten)", "admin",
         "/admin/transaction/?search=服务套餐", False),
        ("Transactions, search by a customer's full name", "admin", f"/admin/transaction/?search={middle.name}", False),
        ("Interactions, search by 7 digits of a customer's mobile", "admin",
         f"/admin/interaction/?search={middle.mobile[5:12]}", False),
        ("Interactions, search by a common word (called)", "admin", "/admin/interaction/?search=called", False),
        ("Interactions, search by two characters no summary holds (退款)", "admin",
         "/admin/interaction/?search=退款", False),
        (f"Customers, filtered by region ({middle.region})", "admin", by_region, False),
        (f"Customer details, {history:,} paid purchases", "admin", f"/admin/customer/details/?id={heaviest}", False),
        ("Customer edit form", "admin", f"/admin/customer/edit/?id={middle.id}", False),
    ]


LONG_HISTORY = 10_000  # the customer "with 10,000 purchases" (issue 28), beside one with 3


def _customer_with_purchases(name: str, purchases: int) -> int:
    """A benchmark customer holding exactly this many paid purchases, made once and reused (inserted in bulk, the
    standing computed after)."""
    from datetime import timedelta

    from crmadmin import planner
    from crmadmin.models import utcnow
    from crmadmin.standing import refresh_customers

    customer_id = db.session.scalar(select(Customer.id).where(Customer.name == name))
    if customer_id is None:
        customer = Customer(name=name, kind="person", source="website")
        db.session.add(customer)
        db.session.commit()
        customer_id = customer.id
    have = db.session.scalar(select(func.count()).select_from(Transaction)
                             .where(Transaction.customer_id == customer_id))
    if have < purchases:
        now = utcnow().replace(microsecond=0)
        rows = [{"customer_id": customer_id, "product": f"Benchmark product {n % 40}", "quantity": 1,
                 "amount": 10 + n % 90, "currency": "CNY", "occurred_at": now - timedelta(hours=3 * n),
                 "channel": "store", "status": "paid", "created_at": now, "updated_at": now, "version": 1}
                for n in range(have, purchases)]
        with db.engine.begin() as connection:
            for start in range(0, len(rows), 5_000):
                connection.execute(Transaction.__table__.insert(), rows[start:start + 5_000])
            refresh_customers(connection, [customer_id])
            # as after any bulk load: PostgreSQL's estimate of one customer's purchases picks the timeline's plan
            planner.analyze_grown(connection, {Transaction: purchases - have})
    return customer_id


def timeline_pages(app) -> list[tuple]:
    """The customer page (header, quick actions, first page of the timeline) at 3 and at 10,000 purchases, and a page
    of purchases deep in the long history (its Older link halfway down)."""
    from crmadmin.reports.timeline import Cursor

    with app.app_context():
        small = _customer_with_purchases("Benchmark customer with 3 purchases", 3)
        large = _customer_with_purchases(f"Benchmark customer with {LONG_HISTORY} purchases", LONG_HISTORY)
        middle = db.session.execute(select(Transaction.occurred_at, Transaction.id)
                                    .where(Transaction.customer_id == large)
                                    .order_by(Transaction.occurred_at.desc(), Transaction.id.desc())
                                    .offset(LONG_HISTORY // 2).limit(1)).one()
        from crmadmin.models import CampaignParticipant

        campaign, responses = db.session.execute(
            select(CampaignParticipant.campaign_id, func.count()).where(CampaignParticipant.responded_at.isnot(None))
            .group_by(CampaignParticipant.campaign_id).order_by(func.count().desc()).limit(1)).first() or (None, 0)
    cursor = Cursor(middle.occurred_at, "purchase", middle.id).text()
    campaign_page = [(f"Campaign page and timeline, {responses:,} responses (the demo's most)", "admin",
                      f"/admin/campaign/details/?id={campaign}", False)] if campaign else []
    return campaign_page + [
        ("Customer page and timeline, 3 purchases", "admin", f"/admin/customer/details/?id={small}", False),
        (f"Customer page and timeline, {LONG_HISTORY:,} purchases", "admin",
         f"/admin/customer/details/?id={large}", False),
        (f"Customer page, timeline of purchases past the {LONG_HISTORY // 2:,}th of {LONG_HISTORY:,}", "admin",
         f"/admin/customer/details/?id={large}&kind=purchase&before={cursor}", False),
    ]


def form_saves(app) -> list[tuple]:
    """(label, who, form address, changes for the i-th save): a new customer, and an edit of an existing one."""
    with app.app_context():
        middle = db.session.scalar(select(func.max(Customer.id))) // 2
    return [
        ("Create a customer (form POST)", "admin", "/admin/customer/new/",
         lambda i: {"name": f"Benchmark customer {i}", "mobile": f"+86139{i % 10**8:08d}"}),
        ("Edit a customer (form POST)", "admin", f"/admin/customer/edit/?id={middle}",
         lambda i: {"notes": f"benchmark edit {i}"}),
    ]


def time_save(app, client, url: str, changes, repeat: int, warmup: int) -> dict:
    """A save through the form like a browser: the form is fetched untimed, the POST (302 when saved) is timed.

    Its "raw SQL" is the time its statements took while the POST ran, measured at the driver."""
    from tests.forms import read_form

    in_database, statements, running = [], [], {}

    def post(i: int):
        data = read_form(client.get(url).get_data(as_text=True))
        data.update(changes(i))
        in_database.append(0.0)
        statements.append(0)
        running["post"] = time.perf_counter()
        response = client.post(url, data={k: v for k, v in data.items() if v is not None})
        elapsed = time.perf_counter() - running.pop("post")
        if response.status_code != 302:
            raise SystemExit(f"{url}: not saved (HTTP {response.status_code})")
        return elapsed

    run = int(time.time())  # distinct values from one run to the next
    for i in range(warmup):
        post(run * 1000 + i)
    with app.app_context():
        engine = db.engine
    # a write cannot be replayed (the log's chain refuses the same entry twice): time the statements as they run
    def before(conn, cursor, statement, parameters, context, executemany):
        if "post" in running:
            running[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        if id(cursor) in running:
            in_database[-1] += time.perf_counter() - running.pop(id(cursor))
            statements[-1] += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        times = [post(run * 1000 + warmup + i) for i in range(repeat)]
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    n = len(times)
    return {"median": statistics.median(times), "p95": percentile(times, 0.95),
            "raw": statistics.median(in_database[-n:]), "statements": max(statements[-n:])}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@contextmanager
def captured(engine):
    """The (statement, parameters) pairs the app sends to the database inside the block."""
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def raw_time(engine, statements, repeat: int) -> float:
    """Median seconds to run the statements on a bare driver cursor, fetching every row."""
    times = []
    connection = engine.raw_connection()
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            cursor = connection.cursor()
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
            cursor.close()
            times.append(time.perf_counter() - started)
            connection.rollback()
    finally:
        connection.close()
    return statistics.median(times)


def ensure_data(app, customers: int, locale: str = "en") -> int:
    with app.app_context():
        upgrade()
        sync_builtin_roles()
        have = db.session.scalar(select(func.count()).select_from(Customer))
    if have < customers:
        from crmadmin.demo import seed

        with app.app_context():
            print(f"Adding {customers - have:,} demo customers ...", flush=True)
            started = time.monotonic()
            seed(customers - have, progress=lambda line: print(line, flush=True), locale=locale)
            print(f"... done in {time.monotonic() - started:.0f} s", flush=True)
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Customer))


def secrets_base32() -> str:
    """A fresh authenticator secret for the run's administrator (two-factor sign-in is on for that role)."""
    import pyotp

    return pyotp.random_base32()


def sign_in_clients(app) -> dict:
    """A signed-in test client per benchmark user; passwords are set fresh for this run."""
    clients = {}
    with app.app_context():
        wanted = {"admin": ("bench.admin", "administrator")}
        clerk = db.session.scalar(select(User).where(User.username == "demo.clerk1"))
        if clerk is not None:
            wanted["clerk"] = ("demo.clerk1", "clerk")
        passwords, authenticators = {}, {}
        for who, (username, role_name) in wanted.items():
            user = db.session.scalar(select(User).where(User.username == username))
            if user is None:
                role = db.session.scalar(select(Role).where(Role.name == role_name))
                user = User(username=username, display_name="Benchmark", roles=[role], password_hash="!")
                db.session.add(user)
            passwords[who] = secrets.token_urlsafe(18)
            user.password_hash = hash_password(passwords[who])
            user.active = True
            if any(r.two_factor_required for r in user.roles):  # an administrator signs in with a code too
                authenticators[who] = secrets_base32()
                user.totp_secret = authenticators[who]
        db.session.commit()
    for who, (username, _) in wanted.items():
        client = app.test_client()
        page = client.get("/login")
        response = client.post("/login", data={"username": username, "password": passwords[who],
                                               "csrf_token": csrf_token(page.get_data(as_text=True))})
        if response.status_code == 302 and response.headers["Location"] == "/login/code" and who in authenticators:
            import pyotp

            page = client.get("/login/code")
            response = client.post("/login/code", data={"code": pyotp.TOTP(authenticators[who]).now(),
                                                        "csrf_token": csrf_token(page.get_data(as_text=True))})
        if response.status_code != 302:
            raise SystemExit(f"could not sign in as {username}: {response.status_code}")
        clients[who] = client
    return clients


def time_page(app, client, path: str, cold: bool, repeat: int, warmup: int) -> dict:
    def prepare() -> None:
        """Cold pages start from an empty summary cache, outside the timed part."""
        if cold:
            with app.app_context():
                cache.clear()

    for _ in range(warmup):
        prepare()
        status = client.get(path).status_code
        if status != 200:
            raise SystemExit(f"{path}: HTTP {status} {client.get(path).headers.get('Location', '')}")
    with app.app_context():
        engine = db.engine
    prepare()
    with captured(engine) as statements:
        client.get(path)
    times = []
    for _ in range(repeat):
        prepare()
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, path
    queries = [s for s in statements if not s[0].lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]
    return {"median": statistics.median(times), "p95": percentile(times, 0.95),
            "raw": raw_time(engine, queries, max(5, repeat // 2)), "statements": len(queries)}


def time_refresh(app, label: str, daily: bool = False) -> None:
    """The full refresh of every standing; `daily`: all the daily job does (refresh-stats: then missing match keys)."""
    from crmadmin.jobs.refresh import run_refresh
    from crmadmin.standing import refresh_all

    with app.app_context():
        started = time.perf_counter()
        result = run_refresh(db.engine) if daily else refresh_all(db.engine)
        print(f"\n{label}: {time.perf_counter() - started:.1f} s for {result['customers']:,} customers, "
              f"{result['written']:,} rows changed", flush=True)


def time_standing_pass(app) -> None:
    """The refresh's limit: one set-based statement that computes every customer's standing (into a temporary
    table, beside the stored one), with no ranges and nothing stored."""
    from crmadmin.standing import bulk, figures
    from crmadmin.standing.maintain import _midnight, load_rules, today, zone

    with app.app_context(), db.engine.begin() as connection:
        started = time.perf_counter()
        rows = bulk.compute_into_fresh(connection, figures.everyone, load_rules(connection), today(), zone().key,
                                       _midnight, only_changed=False)
        elapsed = time.perf_counter() - started
        bulk.drop_fresh(connection)
    print(f"\nOne set-based pass computing every standing (the limit): {elapsed:.1f} s for {rows:,} customers",
          flush=True)


def time_rules_change(app) -> None:
    """What saving new rules costs: the high-value minimum raised by half, applied to everyone, then put back."""
    from crmadmin.models import Setting
    from crmadmin.standing import Rules

    with app.app_context():
        setting = db.session.get(Setting, "high_min_amount")
        before = setting.value if setting else None
        raised = str(Rules.from_settings({"high_min_amount": before} if before else {}).high_min_amount * 3 / 2)
        for value, label in ((raised, f"Refresh after raising the high-value minimum to {raised}"),
                             (before, "Refresh after putting it back")):
            setting = db.session.get(Setting, "high_min_amount")
            if value is None:
                db.session.delete(setting)
            elif setting is None:
                db.session.add(Setting(key="high_min_amount", value=value))
            else:
                setting.value = value
            db.session.commit()
            time_refresh(app, label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000, help="build the data set up to this many")
    parser.add_argument("--locale", default="en", choices=("en", "zh_CN"),
                        help="language of the demo data it adds (en: the searches below are English words)")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per page first")
    parser.add_argument("--refresh", action="store_true",
                        help="also time the daily refresh (flask crm refresh-stats) and one set-based pass, its limit")
    parser.add_argument("--rules-change", action="store_true",
                        help="also time the refresh after a rule change (raises, then restores, a setting)")
    parser.add_argument("--no-scale-pages", action="store_true",
                        help="skip the deep pages, searches, filter and long-history details")
    parser.add_argument("--only", help="only pages whose label contains this text")
    args = parser.parse_args()

    app = create_app(os.environ.get("CRM_CONFIG", "development"))
    customers = ensure_data(app, args.customers, args.locale)
    with app.app_context():
        engine = db.engine
        transactions = db.session.scalar(select(func.max(Transaction.id)))
        dialect = f"{engine.dialect.name} {'.'.join(map(str, engine.dialect.server_version_info or ()))}"
        tiers = db.session.execute(select(CustomerStanding.tier, func.count()).group_by(CustomerStanding.tier)).all()
    print(f"\nDatabase: {dialect}; {customers:,} customers, about {transactions or 0:,} transactions; "
          f"Python {platform.python_version()}; {os.cpu_count()} CPUs; "
          f"machine speed: {machine_speed() * 1000:.0f} ms for a reference loop", flush=True)
    print("Tiers: " + ", ".join(f"{t or 'none'} {n:,}" for t, n in tiers), flush=True)

    if args.refresh:
        time_standing_pass(app)
        time_refresh(app, "Daily refresh (standing, then missing match keys)", daily=True)
    if args.rules_change:
        time_rules_change(app)

    clients = sign_in_clients(app)
    gc.freeze()  # as each gunicorn worker does once the app is built (gunicorn.conf.py)
    print("\n| Page | Median ms | p95 ms | Raw SQL ms | Statements | App − SQL ms | App ÷ SQL |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    pages = PAGES + timeline_pages(app) + ([] if args.no_scale_pages else scale_pages(app))
    saves = [] if args.no_scale_pages else form_saves(app)
    for label, who, path, extra in pages + saves:
        if args.only and args.only.lower() not in label.lower() or who not in clients:
            continue
        if callable(extra):
            r = time_save(app, clients[who], path, extra, args.repeat, args.warmup)
        else:
            r = time_page(app, clients[who], path, extra, args.repeat, args.warmup)
        print(f"| {label} | {r['median'] * 1000:.1f} | {r['p95'] * 1000:.1f} | {r['raw'] * 1000:.1f} | "
              f"{r['statements']} | {(r['median'] - r['raw']) * 1000:.1f} | {ratio(r['median'], r['raw'])} |",
              flush=True)


def machine_speed() -> float:
    """The best of five runs of a fixed pure-Python loop: machines of the same kind have differed twofold per request,
    so each run's figures carry this to be compared with another machine's."""
    def loop() -> float:
        started, total = time.perf_counter(), 0
        for i in range(2_000_000):
            total += i
        return time.perf_counter() - started
    return min(loop() for _ in range(5))


def ratio(whole: float, sql: float) -> str:
    """How many times its SQL's time the page takes; "—" when the SQL is too quick to divide by (under 0.05 ms)."""
    return f"{whole / sql:,.0f}×" if sql >= 0.00005 else "—"


if __name__ == "__main__":
    main()
