"""Time duplicate detection over a whole database: every page of every section, as the Duplicates screen walks them.

Uses the app's database (DATABASE_URL, or the SQLite file under CRM_INSTANCE_DIR) and changes nothing; prints a
Markdown table for docs/PERFORMANCE.md. Usage: python scripts/duplicates_walk.py [--page 20] [--key-sample 100000]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import func, select  # noqa: E402

from crmadmin import create_app, duplicates  # noqa: E402
from crmadmin.extensions import db  # noqa: E402
from crmadmin.matching import keys_for, region  # noqa: E402
from crmadmin.models import Customer, CustomerMatch  # noqa: E402


def walk(sections, page_size: int, only_first: bool = False) -> tuple[int, int, float, float]:
    """(pages, groups, seconds for the first page, seconds for all pages)."""
    started = time.perf_counter()
    first = None
    pages = groups = 0
    cursor = None
    while True:
        page = duplicates.find(db.session, None, sections, cursor, page_size)
        pages += 1
        groups += len(page.groups)
        if first is None:
            first = time.perf_counter() - started
        db.session.rollback()
        if not page.next_cursor or only_first:
            return pages, groups, first, time.perf_counter() - started
        cursor = page.next_cursor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--page", type=int, default=20)
    parser.add_argument("--key-sample", type=int, default=100_000, help="customers whose keys are timed")
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        customers = db.session.scalar(select(func.count()).select_from(Customer))
        keyed = db.session.scalar(select(func.count()).select_from(CustomerMatch))
        print(f"{db.engine.dialect.name}: {customers:,} customers, {keyed:,} with match keys\n")
        rows = db.session.execute(select(Customer.id, Customer.name, Customer.mobile, Customer.email,
                                         Customer.company_name, Customer.address).limit(args.key_sample)).all()
        started = time.perf_counter()
        code = region()
        for row in rows:
            keys_for(*row, code)
        per_key = (time.perf_counter() - started) / max(len(rows), 1)
        print(f"keys: {per_key * 1e6:.1f} µs per customer ({per_key * customers:.0f} s for all)\n")
        print("| section | pages | groups | first page | all pages |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for label, sections in (("all, first page", duplicates.SECTIONS), ("same mobile", ("phone",)),
                                ("same email", ("email",)), ("similar name at same company", ("company",)),
                                ("similar name at same address", ("address",))):
            pages, groups, first, total = walk(sections, args.page, only_first=label.startswith("all"))
            if label.startswith("all"):
                print(f"| {label} | | | {first:.2f} s | |")
                continue
            print(f"| {label} | {pages:,} | {groups:,} | {first:.2f} s | {total:.1f} s |")


if __name__ == "__main__":
    main()
