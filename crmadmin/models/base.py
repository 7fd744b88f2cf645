"""Column types and mixins shared by every record."""
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import BigInteger, DateTime, Integer, types
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from ..choices import Choices
from ..extensions import db


def utcnow() -> datetime:
    """Naive UTC timestamps: the same value on SQLite (no time zones) and PostgreSQL."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


CENT = Decimal("0.01")


class Money(types.TypeDecorator):
    """Exact money: Decimal in Python, integer cents in the database (SQLite has no exact decimal)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
        return int(amount * 100)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)


def enum_column(choices: Choices, name: str | None = None, **kwargs):
    """A VARCHAR with a CHECK on the allowed values: portable, and new values need no type swap.

    `name` names the CHECK when one table has two columns of the same choices."""
    return db.Enum(
        *choices.values,
        name=name or choices.name,
        native_enum=False,
        create_constraint=True,
        length=max(len(v) for v in choices.values),
        validate_strings=True,
        **kwargs,
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class VersionedMixin(TimestampMixin):
    """Optimistic locking: every UPDATE checks and bumps the version, so no save silently overwrites another."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.__table__.c.version}
