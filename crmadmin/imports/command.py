"""`flask crm import FILE --kind KIND`: the Import screen's checks and transaction, from the command line."""
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..models import utcnow
from . import apply, store
from .mapping import IMPORT_KINDS, auto_mapping, mapping_problems
from .reading import FileRefused, Limits, check, read
from .report import error_report, problems_text
from .validation import Context, validate

SHOWN_PROBLEMS = 50


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(IMPORT_KINDS), required=True, help="What the file holds.")
@click.option("--update", is_flag=True, help="Also update the records that rows match (else a match is a problem).")
@click.option("--valid-only", is_flag=True, help="Import the valid rows even if others have problems.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the rows with problems, and why, to this CSV file.")
@with_appcontext
def import_command(path: Path, kind: str, update: bool, valid_only: bool, report_path: Path | None):
    """Import customers, transactions or interactions from a CSV or XLSX file, all rows or none.

    Columns are matched by their English or Chinese headers as on the Import screen; the same limits, checks and
    matching apply, the import is one transaction and one batch of the operation log, and it appears in the
    screen's history, where it can be undone.
    """
    config = current_app.config
    limits = Limits.from_config(config)
    with path.open("rb") as stream:
        data = stream.read(limits.max_bytes + 1)
    try:
        file_format = check(data, limits)
        table = read(data, file_format, limits)
    except FileRefused as refused:
        raise click.ClickException(str(refused))
    mapping = auto_mapping(kind, table.headers)
    problems = mapping_problems(kind, mapping)
    if problems:
        raise click.ClickException(" ".join(problems) + f" (columns: {', '.join(table.headers)})")
    mode = "update" if update else "create"
    context = Context(kind=kind, mode=mode, user_id=None, may_assign_owner=True, scope_owner=None,
                      region=config["CRM_PHONE_REGION"], now=utcnow(), currency=config.get("CRM_DEFAULT_CURRENCY",
                                                                                          "CNY"))
    report = validate(db.session, table, mapping, context)
    bad = [row for row in report.rows if not row.valid]
    for row in bad[:SHOWN_PROBLEMS]:
        click.echo(f"row {row.number}: {problems_text(report, row)}", err=True)
    if len(bad) > SHOWN_PROBLEMS:
        click.echo(f"... and {len(bad) - SHOWN_PROBLEMS} more rows with problems", err=True)
    if bad and report_path:
        report_path.write_bytes(error_report(report))
    run_id = store.stage(db.session.connection(), kind, path.name, file_format, data, None,
                         config["CRM_IMPORT_STAGED_HOURS"])
    try:
        run = store.staged(db.session.connection(), run_id, None)
        outcome = apply.run_import(db.session, run, report, valid_only)
    except apply.ImportRefused as refused:
        db.session.rollback()
        raise click.ClickException(str(refused))
    click.echo(f"Imported {path.name}: {outcome.created} created, {outcome.updated} updated, "
               f"{outcome.skipped} unchanged, {outcome.rejected} rejected (batch {outcome.batch_id}).")
