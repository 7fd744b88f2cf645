"""One row per signed-in session: the account page lists them, and ending one (deleting its row) ends its cookie."""
import hashlib
import secrets
from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow


def new_session_token() -> str:
    """The cookie's secret for one sign-in (Flask-Login's user id); only its hash is stored."""
    return secrets.token_urlsafe(32)


def token_hash(token: str | None) -> str:
    """What the table keeps of a token: a copy of the table cannot be replayed as cookies. The token is 256 random
    bits, so a plain SHA-256 is enough (no salt or slow hash: nothing to guess)."""
    return hashlib.sha256((token or "").encode()).hexdigest()


class UserSession(db.Model):
    """Not a record of the business: the operation log keeps no changes of it (audit.recorder.NOT_AUDITED)."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    signed_in_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    # written at most once a minute of use (auth.sessions.check_session), not at every request
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
    ip: Mapped[Optional[str]] = mapped_column(String(45))
    user_agent: Mapped[Optional[str]] = mapped_column(String(255))

    def __str__(self) -> str:
        return f"#{self.id}"
