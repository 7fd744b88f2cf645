"""Staff accounts and the roles that grant them permissions."""
from datetime import datetime
from typing import Optional

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, Column, DateTime, ForeignKey, String, Table, Text, delete, event, \
    false as sa_false, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import VersionedMixin
from .user_session import UserSession

user_role = Table(
    "user_role",
    db.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("role.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class RolePermission(db.Model):
    """One permission string (e.g. ``customers.edit``) granted to one role."""

    __tablename__ = "role_permission"
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(64), primary_key=True)


class Role(VersionedMixin, db.Model):
    __tablename__ = "role"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    description: Mapped[Optional[str]] = mapped_column(Text)
    builtin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, index=True)
    # 不得抢客: a scoped role sees and works only the customers its user owns, and their records
    own_customers_only: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                     server_default=sa_false())
    # its users sign in with a code from an authenticator app too, and set one up before doing anything else
    two_factor_required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                      server_default=sa_false())
    grants: Mapped[list[RolePermission]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def permissions(self) -> set[str]:
        return {g.permission for g in self.grants}

    @permissions.setter
    def permissions(self, names) -> None:
        wanted = set(names or ())
        self.grants = [g for g in self.grants if g.permission in wanted] + [
            RolePermission(permission=p) for p in sorted(wanted - self.permissions)
        ]

    def __str__(self) -> str:
        return self.name


class User(UserMixin, VersionedMixin, db.Model):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[Optional[str]] = mapped_column(String(120), index=True)
    email: Mapped[Optional[str]] = mapped_column(String(254), index=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, index=True)
    locale: Mapped[Optional[str]] = mapped_column(String(16))
    # the user's own IANA time zone ("Europe/Berlin"); None: the business zone, CRM_TIMEZONE (crmadmin/localtime.py)
    timezone: Mapped[Optional[str]] = mapped_column(String(64))
    last_login_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
    # the authenticator app's shared secret (RFC 6238), set once a code confirmed it; never shown again
    totp_secret: Mapped[Optional[str]] = mapped_column(String(64))
    # the last time step whose code was accepted: a code is good once (auth/two_factor.py)
    totp_last_step: Mapped[Optional[int]] = mapped_column(BigInteger)
    # loaded on demand: a list showing owners or assignees needs their names, not their roles; the signed-in user's
    # come with it in one statement (auth.load_user), the Users screen loads them with its page
    roles: Mapped[list[Role]] = relationship(secondary=user_role)

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str | None:
        """The token of the sign-in this object came with (auth.sessions.start_session or the user loader), which
        Flask-Login keeps in the cookie; never the id, so a cookie ends with its session's row."""
        return self.__dict__.get("_session_token")

    def __eq__(self, other):
        """One account, one user: Flask-Login's UserMixin would compare the session tokens."""
        if isinstance(other, User):
            return self is other or (self.id is not None and self.id == other.id)
        return NotImplemented

    __hash__ = UserMixin.__hash__

    @property
    def two_factor_on(self) -> bool:
        return self.totp_secret is not None

    @property
    def two_factor_required(self) -> bool:
        """Some role of the user asks for a second factor (read with the user at each request, auth.load_user)."""
        kept = self.__dict__.get("_two_factor_required")
        if kept is None:
            kept = self.__dict__["_two_factor_required"] = any(role.two_factor_required for role in self.roles)
        return kept

    def end_sessions(self) -> None:
        """End every session of this user, on every device (password change, deactivation): their cookies are
        refused from the next request, with the caller's commit."""
        db.session.execute(delete(UserSession).where(UserSession.user_id == self.id),
                           execution_options={"synchronize_session": False})

    @property
    def permissions(self) -> set[str]:
        return set().union(*(role.permissions for role in self.roles)) if self.roles else set()

    @property
    def grants(self) -> frozenset:
        """Asked dozens of times a page, so the union of the roles' grants is kept on this object (loaded afresh
        for every request) until its roles change, as Django keeps its permission cache on the user object."""
        granted = self.__dict__.get("_granted")
        if granted is None:
            granted = self.__dict__["_granted"] = frozenset().union(*(grants for _, grants in self._role_grants()))
        return granted if self.active else frozenset()

    def can(self, permission: str) -> bool:
        return permission in self.grants

    def limited_to_own_customers(self, resource: str) -> bool:
        """Rights add up: the user sees every row only if some unscoped role lets them view this resource."""
        wanted = f"{resource}.view"
        return not any(wanted in grants and not own_only for own_only, grants in self._role_grants())

    def remember_grants(self, rows) -> None:
        """Keep each role's scope and grants, read with the user as (role id, own customers only, permission) rows
        (`auth.load_user`), until the roles change; as objects they cost 0.3 ms a request."""
        roles: dict = {}
        for role_id, own_only, permission in rows:
            if role_id is not None:
                roles.setdefault(role_id, (own_only, set()))[1].update([permission] if permission else ())
        self.__dict__["_roles_granting"] = [(own_only, frozenset(grants)) for own_only, grants in roles.values()]

    def _role_grants(self) -> list[tuple[bool, frozenset]]:
        kept = self.__dict__.get("_roles_granting")
        if kept is None:
            kept = self.__dict__["_roles_granting"] = [(role.own_customers_only, frozenset(role.permissions))
                                                       for role in self.roles]
        return kept

    def __str__(self) -> str:
        return self.display_name or self.username

    @classmethod
    def label_sql(cls, row):
        """__str__ as SQL (`row`: this class or an alias), for exports that build no records."""
        return func.coalesce(func.nullif(row.display_name, ""), row.username)


@event.listens_for(User.roles, "append")
@event.listens_for(User.roles, "remove")
@event.listens_for(User.roles, "bulk_replace")
@event.listens_for(User, "expire")
def _forget_grants(user, *args, **kwargs):
    """A change of the user's roles takes effect at once on this object, and a commit or reload asks again."""
    if user is not None:  # an expired object may already be gone
        user.__dict__.pop("_granted", None)
        user.__dict__.pop("_roles_granting", None)
        user.__dict__.pop("_two_factor_required", None)


@event.listens_for(User, "refresh")
def _forget_reloaded_grants(user, context, attrs):
    """A reload of the user or of their roles asks again; a query that merely meets the signed-in user again (as the
    owner of the rows of a clerk's list) reports their roles as refreshed though it left them unloaded, and forgetting
    then cost that page two statements to load them back."""
    if attrs is None or "roles" in user.__dict__:
        _forget_grants(user)


class RecoveryCode(db.Model):
    """One single-use recovery code of a user, kept as its SHA-256 (the code itself is random, 50 bits)."""

    __tablename__ = "recovery_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    used_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    def __str__(self) -> str:
        return f"recovery code #{self.id}"
