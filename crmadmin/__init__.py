"""The application factory: read it as the table of contents of crmadmin."""
import os

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import cache, csrf, db, limiter, migrate


def create_app(config_name: str | None = None, **overrides) -> Flask:
    """Build the app for 'development' (default), 'production' or 'testing'."""
    from config import CONFIGS, INSTANCE_DIR

    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    name = config_name or os.environ.get("CRM_CONFIG", "development")
    config = CONFIGS[name]
    app.config.from_object(config)
    app.config.update(overrides)
    config.prepare(app.config)

    from .search import include_object

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"),
                     render_as_batch=True, compare_type=True, include_object=include_object)
    csrf.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    _tune_sqlite()

    from . import audit, auth, cli, complaints, errors, files, i18n, jobs, localtime, matching, outages, security, standing
    from .admin import init_app as init_admin
    from .admin.row_urls import row_url
    from .choices import Choices
    from .phones import readable

    security.init_app(app)
    i18n.init_app(app)
    localtime.init_app(app)
    auth.init_app(app)
    audit.init_app(app)
    files.init_app(app)
    standing.init_app(app)
    matching.listen()
    complaints.init_app(app)
    jobs.init_app(app)
    errors.init_app(app)
    outages.init_app(app)
    init_admin(app)
    cli.init_app(app)
    app.jinja_env.globals["choice_label"] = Choices.label_of
    app.jinja_env.globals["row_url"] = row_url
    app.jinja_env.filters["phone"] = lambda stored: readable(stored, app.config["CRM_PHONE_REGION"])

    @app.route("/")
    def root():
        from flask import redirect, url_for
        return redirect(url_for("admin.index"))

    return app


_sqlite_tuned = False


def _tune_sqlite() -> None:
    """SQLite enforces foreign keys only when asked, per connection; WAL lets readers work during writes."""
    global _sqlite_tuned
    if _sqlite_tuned:
        return
    _sqlite_tuned = True

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()
