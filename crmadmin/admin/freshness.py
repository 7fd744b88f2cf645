"""How fresh the customers' standing is: shown on the dashboard and the tier screens, with a warning for
administrators when the daily refresh is late (over 26 hours) or failed; and whether the last backup failed."""
from flask import Flask, g

from ..extensions import db
from ..jobs import refresh_status
from ..jobs.backups import backup_status
from ..standing.maintain import local, zone
from .base import is_administrator


def freshness() -> dict:
    """The standing's last refresh as business time, and whether this viewer gets the late/failed warning."""
    if "crm_freshness" not in g:
        status = refresh_status(db.session.connection())
        at = local(status["refreshed_at"])
        status["shown_at"] = f"{at:%Y-%m-%d %H:%M} ({zone().key})" if at else ""
        status["warn"] = (status["stale"] or status["failed"]) and is_administrator()
        g.crm_freshness = status
    return g.crm_freshness


def backup_health() -> dict:
    """The last backup's outcome; administrators alone are warned when it failed (until a backup succeeds)."""
    if "crm_backup_health" not in g:
        status = {"warn": False, "error": ""}
        if is_administrator():
            status = backup_status(db.session.connection())
            status["warn"] = status["failed"]
        g.crm_backup_health = status
    return g.crm_backup_health


def init_app(app: Flask) -> None:
    app.jinja_env.globals["standing_freshness"] = freshness
    app.jinja_env.globals["backup_health"] = backup_health
