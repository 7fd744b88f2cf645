"""Time of one erasure against a long operation log: python scripts/erasure_cost.py --entries 1000000 [--url URL]

Builds (or reuses) a database whose log holds N entries (customer changes written through the recorder, so every
entry is sealed and chained as in production), then erases one customer in the middle of it, as the panel does,
and reports how long finding and scrubbing their entries took and how long `audit verify` takes afterwards.
Defaults to a SQLite file under instance/; pass --url for PostgreSQL (that database is filled, never wiped).
"""
import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--url")
    args = parser.parse_args()

    from config import INSTANCE_DIR
    from crmadmin import create_app
    from crmadmin.audit import Actor, bind, reset
    from crmadmin.audit.chain import chain_rows, verify
    from crmadmin.audit.recorder import append
    from crmadmin.extensions import db
    from crmadmin.models import AuditEntry, Customer, PersonalDataRequest
    from crmadmin.privacy import erase
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    url = args.url or f"sqlite:///{Path(INSTANCE_DIR) / f'erasure-bench-{args.entries}.sqlite3'}"
    app = create_app("development", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        have = db.session.scalar(select(func.count()).select_from(AuditEntry))
        token = bind(Actor(actor="bench", source="cli"))
        started = time.perf_counter()
        while have < args.entries:
            batch = min(10_000, args.entries - have)
            entries = [{"action": "update", "record_type": "customer", "record_id": str(100_000 + have + n),
                        "record_label": f"客户{have + n} (#{100_000 + have + n})",
                        "changes": json.dumps({"mobile": [f"+86139{have + n:08d}", f"+86138{have + n:08d}"],
                                               "region": ["华东", "华南"]}, ensure_ascii=False)}
                       for n in range(batch)]
            with db.engine.begin() as connection:
                append(connection, entries)
            have += batch
            print(f"\r{have:,} entries", end="", file=sys.stderr)
        print(f"\nlog built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        customer = Customer(name="欧阳测试", kind="person", mobile="+8613712345678", email="erase.me@example.cn")
        db.session.add(customer)
        db.session.commit()
        customer.mobile = "+8613787654321"
        db.session.commit()
        started = time.perf_counter()
        done = erase(db.session, customer, PersonalDataRequest(received_on=date.today(), channel="email"))
        db.session.commit()
        erased = time.perf_counter() - started
        reset(token)
        started = time.perf_counter()
        with db.engine.connect() as connection, chain_rows(connection) as rows:
            verdict = verify(rows)
        checked = time.perf_counter() - started
        print(f"{db.engine.dialect.name}: {verdict.checked:,} log entries; erasure {erased * 1000:.0f} ms "
              f"({done.log_entries} entries scrubbed); audit verify {checked:.1f} s, ok={verdict.ok}")


if __name__ == "__main__":
    main()
