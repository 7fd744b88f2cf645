"""Who the user is: sign-in, sessions that really end, and the permission questions they answer."""
from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from ..extensions import db, login_manager


class AnonymousUser(AnonymousUserMixin):
    """Answers permission questions too, so no check needs an 'is logged in' guard first."""

    permissions: frozenset = frozenset()
    grants: frozenset = frozenset()

    def can(self, permission: str) -> bool:
        return False


def init_app(app: Flask) -> None:
    from ..models import Role, RolePermission, User, UserSession, user_role
    from ..models.user_session import token_hash
    from . import account, sessions, two_factor
    from .routes import bp

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.anonymous_user = AnonymousUser
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(token: str):
        """Every request asks this: the live session of the cookie's token, its user, with each role's scope and
        grants as plain values, in one statement. No row (signed out, ended elsewhere, expired): not signed in."""
        rows = db.session.execute(
            select(User, user_role.c.role_id, Role.own_customers_only, RolePermission.permission,
                   Role.two_factor_required)
            .join(UserSession, UserSession.user_id == User.id)
            .outerjoin(user_role, user_role.c.user_id == User.id)
            .outerjoin(Role, Role.id == user_role.c.role_id)
            .outerjoin(RolePermission, RolePermission.role_id == Role.id)
            .where(UserSession.token_hash == token_hash(token), sessions.alive(), User.active.is_(True))).all()
        if not rows:
            return None
        user = rows[0][0]
        user.remember_grants(row[1:4] for row in rows)
        user.__dict__["_two_factor_required"] = any(row[4] for row in rows)
        user.__dict__["_session_token"] = token
        return user

    app.register_blueprint(bp)
    app.register_blueprint(account.bp)
    sessions.init_app(app)
    two_factor.init_app(app)
