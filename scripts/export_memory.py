"""Peak memory and time of streamed exports: python scripts/export_memory.py --customers 20000 [--format csv|xlsx]

Builds (or reuses) a demo SQLite database under instance/export-bench-<N>.sqlite3, then, in this process, exports
the whole Transactions list through the app as an administrator would and reports rows, bytes, seconds and the
process's peak resident memory before and after (VmHWM). Run once per format: each run is its own process, so the
peaks do not mix.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    args = parser.parse_args()

    from config import INSTANCE_DIR
    from crmadmin import create_app
    from crmadmin.cli import create_user, sync_builtin_roles
    from crmadmin.extensions import db
    from crmadmin.models import User
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    path = Path(INSTANCE_DIR) / f"export-bench-{args.customers}.sqlite3"
    app = create_app("development", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", WTF_CSRF_ENABLED=False)
    with app.app_context():
        upgrade()
        sync_builtin_roles()
        if db.session.scalar(select(func.count()).select_from(User)) == 0:
            from crmadmin.demo import seed
            create_user("bench", "bench password 12345", ["administrator"])
            seed(args.customers, progress=lambda *a: None)
    client = app.test_client()
    client.post("/login", data={"username": "bench", "password": "bench password 12345"})
    before = peak_mib()
    started = time.monotonic()
    response = client.get(f"/admin/transaction/export/{args.format}/")
    size = rows = 0
    for chunk in response.response:
        size += len(chunk)
        if args.format == "csv":
            rows += chunk.count("\r\n") if isinstance(chunk, str) else chunk.count(b"\r\n")
    seconds = time.monotonic() - started
    print(f"{args.format}: status {response.status_code}, {size / 2**20:.1f} MiB"
          + (f", {rows - 1:,} rows" if args.format == "csv" else "")
          + f" in {seconds:.1f} s; peak RSS {before:.0f} MiB before, {peak_mib():.0f} MiB after", flush=True)


if __name__ == "__main__":
    main()
