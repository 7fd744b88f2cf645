"""Prepare a load test: accounts with fresh passwords, and the real values the simulated users will ask for.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/crm_bench \\
        .venv/bin/python scripts/loadtest_setup.py --users 50 --out /tmp/crm-loadtest/data.json

Runs in the app's own virtualenv, with the app's own code, against the app's database (DATABASE_URL). It sets fresh
random passwords for `load.admin` (administrator, created if missing), the demo clerks `demo.clerk1`..`demo.clerk5`
and the cross-host check's accounts `load.xhost` and `load.xlock` (administrators, created if missing), so point it
at a load-test/benchmark database only. Nothing in the app has a default password: the passwords exist only in the
output file (mode 0600), which scripts/loadtest.py (locust) and scripts/crosshost_check.py read.

For each simulated user ("slot") it chooses an account (one in five an administrator, the others the five demo clerks
in turn), customers that only this slot edits (so optimistic-lock conflicts cannot happen by design), customers to
open, and search fragments taken from real rows the account may see: a full name of 3+ characters, 7 digits of a
mobile, an e-mail's local part.
"""
import argparse
import json
import os
import random
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from crmadmin import create_app  # noqa: E402
from crmadmin.auth.passwords import hash_password  # noqa: E402
from crmadmin.cli import sync_builtin_roles  # noqa: E402
from crmadmin.extensions import db  # noqa: E402
from crmadmin.models import Customer, Role, User  # noqa: E402

CLERKS = [f"demo.clerk{n}" for n in range(1, 6)]
ADMIN = "load.admin"
CROSS_HOST = {"session": "load.xhost", "lockout": "load.xlock"}
EDITS_PER_SLOT = 10
DETAILS_PER_SLOT = 10
SEARCHES_PER_SLOT = 10


def account(username: str, role_name: str | None) -> User:
    """The account, created with `role_name` when missing; it gets a fresh password below."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        if role_name is None:
            raise SystemExit(f"{username} does not exist: is the demo data loaded (flask crm seed-demo)?")
        role = db.session.scalar(select(Role).where(Role.name == role_name))
        user = User(username=username, display_name="Load test", roles=[role], password_hash="!")
        db.session.add(user)
    return user


def sample_customers(rng: random.Random, owner_id: int | None, want: int, taken: set[int], max_id: int) -> list:
    """`want` random customers (of `owner_id` when given) not yet taken by another slot."""
    rows = []
    while len(rows) < want:
        ids = [rng.randint(1, max_id) for _ in range(want * 20)]
        query = select(Customer.id, Customer.name, Customer.mobile, Customer.email).where(Customer.id.in_(ids))
        if owner_id is not None:
            query = query.where(Customer.owner_id == owner_id)
        found = list(db.session.execute(query))
        rng.shuffle(found)  # the database returns them in id order: keep the choice uniform over all ids
        for row in found:
            if row.id not in taken and len(rows) < want:
                taken.add(row.id)
                rows.append(row)
    return rows


def searches(rows, rng: random.Random, kinds=("name", "mobile", "email")) -> list[str]:
    terms = []
    for row in rows:
        kind = rng.choice(kinds)
        if kind == "name" and row.name and len(row.name) >= 3:
            terms.append(row.name)
        elif kind == "mobile" and row.mobile and len(row.mobile) >= 12:
            terms.append(row.mobile[5:12])  # 7 digits from the middle of +86 1xx xxxx xxxx
        elif kind == "email" and row.email and len(row.email.split("@")[0]) >= 3:
            terms.append(row.email.split("@")[0])
        elif row.mobile and len(row.mobile) >= 12:  # a 2-character name, or no e-mail: 7 digits instead
            terms.append(row.mobile[5:12])
    return terms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated users (slots) to prepare")
    parser.add_argument("--out", default="/tmp/crm-loadtest/data.json")
    parser.add_argument("--search-kinds", default="name,mobile,email",
                        help="what the search terms are taken from (comma-separated: name, mobile, email)")
    parser.add_argument("--seed", type=int, default=None, help="random seed for the choice of customers")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    app = create_app(os.environ.get("CRM_CONFIG", "development"))
    with app.app_context():
        sync_builtin_roles()
        max_id = db.session.scalar(select(func.max(Customer.id)))
        if not max_id:
            raise SystemExit("no customers: load the data first (flask crm seed-demo --customers 1000000)")
        users = {ADMIN: account(ADMIN, "administrator")}
        users.update({name: account(name, None) for name in CLERKS})
        users.update({name: account(name, "administrator") for name in CROSS_HOST.values()})
        passwords = {}
        for name, user in users.items():
            passwords[name] = secrets.token_urlsafe(18)
            user.password_hash = hash_password(passwords[name])
            user.active = True
        db.session.commit()

        taken: set[int] = set()
        slots = []
        for slot in range(args.users):
            username = ADMIN if slot % 5 == 0 else CLERKS[(slot - slot // 5 - 1) % len(CLERKS)]
            owner = None if username == ADMIN else users[username].id
            edits = sample_customers(rng, owner, EDITS_PER_SLOT, taken, max_id)
            seen = sample_customers(rng, owner, DETAILS_PER_SLOT + SEARCHES_PER_SLOT, set(taken), max_id)
            slots.append({"username": username, "edit_ids": [r.id for r in edits],
                          "detail_ids": [r.id for r in seen[:DETAILS_PER_SLOT]],
                          "searches": searches(seen[DETAILS_PER_SLOT:], rng, args.search_kinds.split(","))})

        from crmadmin.admin.filter_links import filtered_url

        view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "customer")
        region = db.session.scalar(select(Customer.region).where(Customer.id == max_id // 2))
        with app.test_request_context():
            by_region = filtered_url(view, ((Customer.region, "equals"), region))
        customers = db.session.scalar(select(func.count()).select_from(Customer))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600)
    out.chmod(0o600)
    out.write_text(json.dumps({"customers": customers, "passwords": passwords, "cross_host": CROSS_HOST,
                               "filter_url": by_region, "filter_label": f"region = {region}", "slots": slots},
                              ensure_ascii=False, indent=1))
    print(f"{customers:,} customers; {len(slots)} slots over {len(set(s['username'] for s in slots))} accounts; "
          f"{len(taken)} customers reserved for edits; written to {out} (mode 0600)")


if __name__ == "__main__":
    main()
