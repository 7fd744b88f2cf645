"""Extension instances, bound to the app in create_app(); nothing of the package is imported here but the cache's
leaf module (cache_fallback, which imports nothing of the package either)."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from .cache_fallback import FallbackCache

# Stable constraint names so Alembic revisions are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
# No default limits: only the routes that declare a limit (sign-in, password change) are counted.
limiter = Limiter(key_func=get_remote_address)
# Summaries that are costly at a million rows (tier totals, dashboard figures), shared by workers via Redis;
# computed without it while Redis is down.
cache = FallbackCache()
