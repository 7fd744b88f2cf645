"""Screens for staff accounts and roles: who may sign in, and what each role may do."""
from flask import flash, request
from flask_admin.actions import action
from flask_babel import gettext as _, lazy_gettext as _l, ngettext, pgettext
from flask_login import current_user
from sqlalchemy import select
from wtforms import PasswordField, SelectMultipleField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from ..audit import log_event
from ..auth.passwords import hash_password, policy_problems
from ..auth.two_factor import turn_off
from ..extensions import db
from ..models import User
from ..auth.permissions import BUILTIN_ROLES, perm, permission_choices
from ..choices import BUILTIN_ROLE, LANGUAGE
from ..localtime import zone_choices
from .base import SecureModelView
from .fields import EmptyToNone
from ..labels import LABELS
from .widgets import PermissionGrid


def builtin_description(role) -> str:
    """Built-in roles describe themselves in the reader's language; custom roles as their author wrote."""
    if role.builtin and role.name in BUILTIN_ROLES:
        return str(BUILTIN_ROLES[role.name][0])
    return role.description or ""


def role_label(role) -> str:
    """A built-in role by its name in the reader's language (the stored name stays the same); others as named."""
    return str(BUILTIN_ROLE.label(role.name)) if role.builtin else role.name


def _role_labels(view, context, model, name) -> str:
    return ", ".join(role_label(role) for role in model.roles)


def _two_factor(view, context, model, name) -> str:
    """Whether the second factor is on; "required, not set up" tells who will be stopped at set-up next time."""
    if model.two_factor_on:
        return pgettext("two-factor sign-in", "On")
    return pgettext("two-factor sign-in", "Required, not set up") if model.two_factor_required else \
        pgettext("two-factor sign-in", "Off")


def permission_labels(granted) -> list[str]:
    return [str(label) for value, label in permission_choices() if value in granted]


class UserView(SecureModelView):
    permission = "users"
    column_labels = LABELS
    column_list = ("id", "username", "display_name", "email", "roles", "active", "two_factor", "last_login_at")
    column_details_list = ("id", "username", "display_name", "email", "roles", "active", "two_factor", "locale",
                           "timezone", "last_login_at", "created_at", "updated_at")
    column_export_list = ("id", "username", "display_name", "email", "roles", "active", "last_login_at")
    column_searchable_list = ("username", "display_name", "email")
    column_filters = ("active", "roles.name", "last_login_at")
    column_sortable_list = ("id", "username", "display_name", "active", "last_login_at")
    column_default_sort = ("username", False)
    form_columns = ("username", "display_name", "email", "roles", "active", "locale", "timezone",
                    "new_password")
    # no time zone (the blank choice): the business zone, CRM_TIMEZONE
    form_choices = {"locale": LANGUAGE.form_choices(), "timezone": zone_choices}  # labels in the reader's language
    form_extra_fields = {
        "new_password": PasswordField(_l("New password"), description=_l(
            "At least 12 characters, unlike the user's names and e-mail address, not a common password and not a "
            "short sequence repeated. Leave empty to keep the current password.")),
    }
    form_args = {
        "username": {"validators": [DataRequired(), Length(max=64),
                                    Regexp(r"^[\w.@+-]+$", message=_l("Use letters, digits and . @ + - _ only."))]},
        "email": {"validators": [EmptyToNone(), Optional(), Email()]},
        "locale": {"validators": [EmptyToNone()]},
        "roles": {"get_label": role_label},
        "timezone": {"validators": [EmptyToNone()],
                     "description": _l("Times this user reads and types; empty: the business time zone.")},
    }
    column_formatters = {"roles": _role_labels, "two_factor": _two_factor}
    column_formatters_detail = {"roles": _role_labels, "two_factor": _two_factor,
                                "locale": lambda v, c, m, n: LANGUAGE.label(m.locale)}

    @property
    def can_delete(self):
        return False  # accounts are disabled, never deleted: their history must keep its author

    def on_model_change(self, form, model, is_created):
        if model.id == current_user.id and not (model.active and model.can(perm("users", "edit"))):
            raise ValidationError(_("You cannot disable your own account or remove your own right to manage "
                                    "users. Ask another administrator. Nothing was changed."))
        password = form.new_password.data or ""
        if is_created and not password:
            raise ValidationError(_("A new account needs a password."))
        if password:
            problems = policy_problems(password, model.username, model.display_name, model.email)
            if problems:
                raise ValidationError(" ".join(problems))
            model.password_hash = hash_password(password)
            if not is_created:
                model.end_sessions()
        elif not is_created and not model.active:
            model.end_sessions()

    def is_action_allowed(self, name: str) -> bool:
        if name == "reset_two_factor":
            return self.can_edit
        return super().is_action_allowed(name)

    @action("reset_two_factor", _l("Reset two-factor sign-in"),
            _l("Reset the selected users' two-factor sign-in? Their authenticator and recovery codes stop working, "
               "all their sessions end, and they set it up again if their role requires it."))
    def action_reset_two_factor(self, ids):
        """For a lost phone: the user signs in with the password again and, if their role asks, sets up anew."""
        wanted = {int(i) for i in ids if str(i).isdigit()}
        users = db.session.scalars(select(User).where(User.id.in_(wanted)).order_by(User.id)).all()
        reset = [user for user in users if user.two_factor_on]
        for user in reset:
            turn_off(user)
            user.end_sessions()  # every session, this administrator's own included when they reset themselves
            log_event(db.session, "two_factor_reset", record=user)
        db.session.commit()
        flash(ngettext("Two-factor sign-in reset for %(num)d user; their sessions have ended.",
                       "Two-factor sign-in reset for %(num)d users; their sessions have ended.", len(reset)),
              "success")
        if len(reset) < len(users):
            flash(ngettext("%(num)d had no two-factor sign-in and was left as it was.",
                           "%(num)d had no two-factor sign-in and were left as they were.", len(users) - len(reset)),
                  "info")


class RoleView(SecureModelView):
    permission = "roles"

    def record_title(self, model) -> str:
        return role_label(model)
    column_labels = LABELS
    column_list = ("id", "name", "description", "own_customers_only", "two_factor_required", "builtin")
    column_details_list = ("id", "name", "description", "own_customers_only", "two_factor_required", "builtin",
                           "permissions",
                           "created_at", "updated_at")
    column_export_list = ("id", "name", "description", "builtin")
    column_searchable_list = ("name",)
    column_sortable_list = ("id", "name", "builtin")
    column_default_sort = ("name", False)
    column_formatters = {"name": lambda v, c, m, n: role_label(m), "description": lambda v, c, m, n: builtin_description(m)}
    column_formatters_detail = {"name": lambda v, c, m, n: role_label(m),
                                "description": lambda v, c, m, n: builtin_description(m),
                                "permissions": lambda v, c, m, n: "; ".join(permission_labels(m.permissions))}
    form_columns = ("name", "description", "own_customers_only", "two_factor_required", "permissions")
    form_extra_fields = {
        "permissions": SelectMultipleField(_l("Permissions"), choices=permission_choices, widget=PermissionGrid()),
    }
    form_args = {"name": {"validators": [DataRequired(), Length(max=64)]},
                 "two_factor_required": {"description": _l(
                     "Its users type a code from an authenticator app after their password; one who has not set it "
                     "up is sent to do so at sign-in and can open nothing else until done.")}}

    def on_form_prefill(self, form, id):
        """A built-in role's form shows its description in the reader's language, as its list and page do."""
        role = self.get_one(id)
        if request.method == "GET" and role.builtin and role.name in BUILTIN_ROLES:
            form.description.data = builtin_description(role)

    def on_model_delete(self, model):
        if model.builtin:
            raise ValidationError(_("Built-in roles cannot be deleted. Nothing was changed."))
