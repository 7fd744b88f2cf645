"""The menu bar, rendered once per set of rights, language and screen: Flask-Admin's macro asked each of its two dozen
items whether the viewer may open it and built its address on every request."""
from flask import current_app, request
from flask_babel import get_locale
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

KEPT = 1024  # menus per worker before the store starts again: a few roles x 2 languages x 25 screens


@pass_context
def menu_once(context, render) -> Markup:
    """`render()` (layout.menu) on the first request of its kind; every screen's access is decided by the viewer's
    grants alone (AccessMixin), so the grants are the key, and a change of roles changes them."""
    key = (current_user.is_authenticated, current_user.grants, str(get_locale()),
           context["admin_view"].endpoint, request.script_root)
    kept = current_app.extensions.setdefault("crm_menus", {})
    menu = kept.get(key)
    if menu is None:
        if len(kept) >= KEPT:
            kept.clear()
        menu = kept[key] = Markup(render())
    return menu


def init_app(app) -> None:
    app.jinja_env.globals["menu_once"] = menu_once
