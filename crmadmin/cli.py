"""`flask crm ...`: accounts, built-in roles, demo data and first-run setup from the command line."""
import csv
import os
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from .audit import bind, cli_actor, reset
from .audit.chain import GENESIS, chain_rows, verify
from .auth.passwords import generate_password, hash_password, policy_problems
from .auth.permissions import BUILTIN_ROLES, TWO_FACTOR_BY_DEFAULT
from .demo_texts import DEFAULT_LOCALE, LOCALES as DEMO_LOCALES
from .extensions import db
from .models import AuditEntry, Customer, Role, User
from .jobs import run_worker
from .jobs.refresh import run_refresh
from .standing import refresh_all, refreshed_on, today

class AuditedGroup(AppGroup):
    """Every change a command makes is logged as the operating-system user running that command line."""

    def invoke(self, ctx):
        token = bind(cli_actor())
        try:
            return super().invoke(ctx)
        finally:
            reset(token)


crm = AuditedGroup("crm", help="crmadmin administration commands.")


def sync_builtin_roles() -> list[str]:
    """Create the built-in roles, and reset their permissions to the shipped definition."""
    changed = []
    for name, (description, permissions, own_only) in BUILTIN_ROLES.items():
        role = db.session.scalar(select(Role).where(Role.name == name))
        if role is None:
            # two-factor sign-in is a setting an administrator may change: given at creation, never reset here
            role = Role(name=name, builtin=True, two_factor_required=name in TWO_FACTOR_BY_DEFAULT)
            db.session.add(role)
            changed.append(name)
        elif role.permissions != permissions or role.own_customers_only != own_only:
            changed.append(name)
        role.builtin = True
        role.description = str(description)
        role.permissions = permissions
        role.own_customers_only = own_only
    db.session.commit()
    return changed


def create_user(username: str, password: str, role_names: list[str], display_name: str | None = None,
                email: str | None = None) -> User:
    problems = policy_problems(password, username, display_name, email)
    if problems:
        raise click.ClickException(" ".join(problems))
    if db.session.scalar(select(User).where(User.username == username)) is not None:
        raise click.ClickException(f"User {username!r} already exists.")
    roles = list(db.session.scalars(select(Role).where(Role.name.in_(role_names))))
    missing = set(role_names) - {r.name for r in roles}
    if missing:
        raise click.ClickException(f"Unknown role(s): {', '.join(sorted(missing))}. Run 'flask crm sync-roles' first?")
    user = User(username=username, display_name=display_name, email=email,
                password_hash=hash_password(password), roles=roles)
    db.session.add(user)
    db.session.commit()
    return user


@crm.command("sync-roles")
def sync_roles_command():
    """Create the built-in roles and reset their permissions to the shipped definition."""
    changed = sync_builtin_roles()
    click.echo(f"Built-in roles in sync ({', '.join(changed) or 'no changes'}).")


@crm.command("create-user")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True,
              help="Role name; repeat for several.")
@click.option("--display-name", default=None)
@click.option("--email", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate", is_flag=True, help="Generate a random password and print it once.")
def create_user_command(username, roles, display_name, email, password_stdin, generate):
    """Create a staff account; the password is asked for, read from stdin, or generated."""
    if generate:
        password = generate_password(username, display_name, email)
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = create_user(username, password, list(roles), display_name, email)
    click.echo(f"Created user {user.username} with role(s) {', '.join(r.name for r in user.roles)}.")
    if generate:
        click.echo(f"Password (shown once): {password}")


@crm.command("seed-demo")
@click.option("--customers", default=2000, show_default=True, type=click.IntRange(1, 2_000_000))
@click.option("--seed", "seed_value", default=2024, show_default=True, help="Random seed, for repeatable data.")
@click.option("--locale", default=DEFAULT_LOCALE, show_default=True, type=click.Choice(DEMO_LOCALES),
              help="The language of the demo's names, companies, addresses, products and notes.")
def seed_demo_command(customers, seed_value, locale):
    """Add believable demo customers with two years of purchases, contacts, complaints and campaigns."""
    from .demo import seed

    started = time.monotonic()
    counts = seed(customers, seed_value, progress=click.echo, locale=locale)
    click.echo("Inserted " + ", ".join(f"{v:,} {k}" for k, v in counts.items())
               + f" in {time.monotonic() - started:.1f} s.")


@crm.command("bootstrap")
@click.option("--demo-customers", default=2000, show_default=True, type=click.IntRange(0, 2_000_000))
@click.option("--locale", default=DEFAULT_LOCALE, show_default=True, type=click.Choice(DEMO_LOCALES),
              help="The language of the demo data.")
def bootstrap_command(demo_customers, locale):
    """First run: built-in roles, one account per role with a password printed once, demo data if empty."""
    sync_builtin_roles()
    if db.session.scalar(select(func.count()).select_from(User)) == 0:
        lines = []
        for name in BUILTIN_ROLES:
            password = generate_password(name, name.capitalize())
            create_user(name, password, [name], display_name=name.capitalize())
            lines.append(f"  {name:<14} {password}")
        click.echo("\nAccounts created. Passwords are shown only this once; write them down:\n"
                   + "\n".join(lines) + "\n")
    else:
        click.echo("Accounts exist already; no passwords were changed.")
    if demo_customers and db.session.scalar(select(func.count()).select_from(Customer)) == 0:
        from .demo import seed

        click.echo(f"Loading demo data ({demo_customers:,} customers)...")
        seed(demo_customers, progress=click.echo, locale=locale)
    elif refreshed_on(db.session.connection()) != today():
        db.session.commit()
        _refresh()


def _refresh(rebuild_revenue: bool = False) -> None:
    started = time.monotonic()
    result = run_refresh(db.engine, rebuild_revenue=rebuild_revenue)
    if result["keyed"]:
        click.echo(f"Match keys computed for {result['keyed']:,} customers.")
    rebuilt = "" if result["revenue_cells"] is None else f"; monthly revenue rebuilt ({result['revenue_cells']:,} cells)"
    click.echo(f"Standing refreshed for {result['day']}: {result['customers']:,} customers, "
               f"{result['written']:,} changed{rebuilt}, in {time.monotonic() - started:.1f} s.")


@crm.command("refresh-stats")
@click.option("--revenue", is_flag=True, help="Also rebuild the monthly revenue sums (after purchases were loaded "
                                              "outside the panel, e.g. by SQL).")
def refresh_stats_command(revenue):
    """Recompute every customer's tier, lifecycle stage and due date; run daily (cron) as purchases age."""
    _refresh(rebuild_revenue=revenue)


@crm.command("worker")
@click.option("--workers", "-w", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Jobs run at the same time by this worker.")
@click.option("--worker-type", "-k", default="thread", show_default=True, type=click.Choice(["thread", "process"]))
@click.option("--no-periodic", is_flag=True, help="Do not enqueue the scheduled jobs (another worker does).")
def worker_command(workers, worker_type, no_periodic):
    """Run queued and scheduled jobs (the daily refresh at 00:05 business time) until stopped.

    SIGTERM lets the running jobs finish, then exits; SIGINT interrupts them. Start as many as needed, on any host
    that shares the queue (CRM_JOBS_URL or REDIS_URL).
    """
    click.echo(f"Worker on {current_app.extensions['jobs'].storage.__class__.__name__} "
               f"({workers} {worker_type}{'s' if workers > 1 else ''}); SIGTERM to stop after the running jobs.")
    run_worker(current_app._get_current_object(), workers=workers, worker_type=worker_type,
               periodic=not no_periodic)


@crm.command("import-surveys")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--encoding", default="utf-8-sig", show_default=True, help="The file's encoding, e.g. gb18030.")
@click.option("--skip-existing", is_flag=True, help="Skip answers stored already instead of refusing the file.")
def import_surveys_command(path, encoding, skip_existing):
    """Add NPS and CSAT answers from a CSV file: all of them, or none if any row is wrong.

    Header: customer_id, mobile or email (to find the customer), kind (nps or csat), score, date (YYYY-MM-DD),
    channel (phone, email, visit, social_media, online_chat, event), and optionally comment.
    """
    from .survey_import import read

    try:
        with open(path, encoding=encoding, newline="") as stream:
            result = read(db.session, stream, today(), current_app.config["CRM_PHONE_REGION"], skip_existing)
    except (UnicodeDecodeError, LookupError) as error:
        raise click.ClickException(f"Cannot read {path} as {encoding}: {error}. Try --encoding gb18030.")
    except csv.Error as error:
        raise click.ClickException(f"{path} is not a readable CSV file: {error}.")
    if result.errors:
        db.session.rollback()
        for line, message in result.errors:
            click.echo(f"line {line}: {message}", err=True)
        raise click.ClickException(f"Nothing was imported: {len(result.errors)} rows have errors.")
    db.session.add_all(result.responses)
    db.session.commit()  # one transaction; each answer is in the operation log, as one batch
    skipped = f" ({len(result.skipped)} stored already, skipped)" if result.skipped else ""
    click.echo(f"Imported {len(result.responses)} survey responses{skipped}.")


def _size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024


def _code_revisions() -> tuple[tuple[str, ...], set[str]]:
    """The migrations' head(s) and every revision they know, to judge a restored database's schema."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    return tuple(script.get_heads()), {revision.revision for revision in script.walk_revisions()}


@crm.command("backup")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The file to write (never overwritten); default: a new timestamped file in CRM_BACKUP_DIR.")
def backup_command(output):
    """Write a consistent backup of the database while the panel runs (SQLite online backup, or pg_dump).

    Prints the file, its size, the schema revision and the operation log's head: keep the head outside the
    database, and after a restore check the log against it with `flask crm audit verify --head HEAD`.
    """
    from .backup import BackupError, take

    directory = Path(current_app.config["CRM_BACKUP_DIR"] or Path(current_app.instance_path) / "backups")
    db.session.remove()
    try:
        taken = take(db.engine, output, directory, current_app.config["CRM_PG_BIN_DIR"])
    except BackupError as error:
        raise click.ClickException(str(error))
    click.echo(f"Backup written: {taken.path} ({_size(taken.size)}, readable by its owner only)")
    click.echo(f"Database revision: {taken.revision}")
    click.echo(f"Operation log head: {taken.head}")
    click.echo("Keep the head outside the database; after a restore: flask crm audit verify --head HEAD")


@crm.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the database without asking.")
def restore_command(path, yes):
    """Replace the whole database with a backup made by `flask crm backup`, then verify its operation log.

    Stop the panel first. The file is checked before anything is touched, and the database is replaced in one
    transaction: all of it, or nothing. Exits 1 if the restored operation log does not verify.
    """
    from .backup import BackupError, check, restore, revision_advice

    db.session.remove()
    target = db.engine.url.render_as_string(hide_password=True)
    try:
        check(db.engine, path, current_app.config["CRM_PG_BIN_DIR"])
        if not yes:
            click.confirm(f"Replace every row of {target} with the backup {path}?", abort=True)
        restored = restore(db.engine, path, current_app.config["CRM_PG_BIN_DIR"])
    except BackupError as error:
        raise click.ClickException(str(error))
    click.echo(f"Restored {path} into {target}.")
    for note in restored.notes:
        click.echo(note)
    heads, known = _code_revisions()
    click.echo(revision_advice(restored.revision, heads, known))
    try:
        with db.engine.connect() as connection, chain_rows(connection) as rows:
            verdict = verify(rows)
    except SQLAlchemyError as error:  # an older schema's log may lack a column the code reads
        click.echo(f"Operation log not verified: {error.__class__.__name__}. Run `flask db upgrade`, then "
                   "`flask crm audit verify`.", err=True)
        sys.exit(1)
    if verdict.ok:
        click.echo(f"Operation log OK: {verdict.checked:,} entries, chain unbroken. Head: {verdict.head}")
        return
    where = f"entry #{verdict.entry_id}" if verdict.entry_id is not None else "the end of the log"
    click.echo(f"Operation log BROKEN at {where}: {verdict.problem}. {verdict.checked:,} entries before it hold.",
               err=True)
    sys.exit(1)


@crm.command("check", with_appcontext=False)
@click.option("--deploy", is_flag=True, required=True, help="Check the production configuration's settings.")
def check_command(deploy):
    """List what makes the production configuration, as this environment sets it, unsafe: each problem's id, reason
    and fix. Exits 1 on any error (production refuses to start on those); warnings alone exit 0."""
    from . import deploy as checks

    env = dict(os.environ)
    root = Path(__file__).resolve().parent.parent
    problems = checks.run(checks.Deployment(checks.production_config(), env, checks.gunicorn_server(root, env)))
    for problem in problems:
        click.echo(str(problem))
    errors = sum(problem.level == checks.ERROR for problem in problems)
    click.echo(f"{errors} error(s), {len(problems) - errors} warning(s).")
    if errors:
        sys.exit(1)


audit = AppGroup("audit", help="Check the operation log for tampering.")
crm.add_command(audit)


@audit.command("verify")
@click.option("--head", "kept_head", default=None, help="A head printed earlier by 'audit head', kept outside the database.")
def audit_verify_command(kept_head):
    """Walk the hash chain; report the first broken entry (exit 1), or how many entries hold."""
    with db.engine.connect() as connection, chain_rows(connection) as rows:
        verdict = verify(rows, kept_head)
    if verdict.ok:
        click.echo(f"OK: {verdict.checked:,} entries, chain unbroken. Head: {verdict.head}")
        return
    where = f"entry #{verdict.entry_id}" if verdict.entry_id is not None else "the end of the log"
    click.echo(f"BROKEN at {where}: {verdict.problem}. {verdict.checked:,} entries before it hold.", err=True)
    sys.exit(1)


@audit.command("head")
def audit_head_command():
    """Print the hash of the newest entry; keep it outside the database to detect a cut-off log later."""
    head = db.session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    click.echo(head or GENESIS)


def init_app(app: Flask) -> None:
    from .imports.command import import_command

    if "import" not in crm.commands:
        crm.add_command(import_command)
    app.cli.add_command(crm)
