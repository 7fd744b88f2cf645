"""Which language a request speaks: the user's choice, else the browser's, else English."""
from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import Domain, get_locale
from flask_login import current_user

from .extensions import babel


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    user_locale = getattr(current_user, "locale", None)
    if user_locale in languages:
        return user_locale
    # browsers send zh-CN, zh-Hans or plain zh; all of them read Simplified Chinese
    best = request.accept_languages.best_match(["en", "zh-CN", "zh-Hans", "zh-SG", "zh"])
    if best and best.startswith("zh"):
        return "zh_CN"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def current_language() -> str:
    """The LANGUAGES key of this request ('zh_CN'), though Babel names the locale zh_Hans_CN."""
    locale = get_locale()
    if locale is not None and locale.language == "zh":
        return "zh_CN"
    return "en"


def text_direction() -> str:
    """'ltr' or 'rtl' for <html dir>: the direction the request's language is written in."""
    locale = get_locale()
    return locale.text_direction if locale is not None else "ltr"


def remember_per_request(domain: Domain) -> None:
    """Flask-Babel finds the context, the locale and the catalogue again for every string (a list page translates
    about 500); this keeps the catalogue in the context Flask-Babel already uses, where `refresh()` and
    `force_locale()` reset it."""
    find = domain.get_translations
    key = domain.domain[0]

    def get_translations():
        try:
            return g._flask_babel.babel_translations[key]
        except (AttributeError, KeyError, TypeError):
            pass
        except RuntimeError:  # no application context
            return find()
        translations = find()
        context = getattr(g, "_flask_babel", None)
        if context is not None:
            if not isinstance(getattr(context, "babel_translations", None), dict):
                context.babel_translations = {}
            context.babel_translations[key] = translations
        return translations

    get_translations.per_request = True
    domain.get_translations = get_translations


def words_over_flask_admins(domain: Domain, directory: str) -> None:
    """Flask-Admin's own catalogue (domain "admin") is read first and ours ("messages") merged over it: the zh_Hans_CN
    admin.mo in its wheel misses "Failed to save record." and "Failed to create record.", and its templates ask for
    strings no catalogue of its holds ("20 items"); those are in ours (crmadmin/admin/flask_admin_words.py)."""
    if directory not in domain._translation_directories:
        domain._translation_directories = [*domain._translation_directories, directory]
        domain.domain = ["admin"] * (len(domain._translation_directories) - 1) + ["messages"]


def init_app(app: Flask) -> None:
    from flask_admin import babel as admin_babel

    from .localtime import select_timezone

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    words_over_flask_admins(admin_babel.domain, app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";")[0])
    with app.app_context():  # the default domain is made from the app's settings
        domains = (babel.domain_instance, admin_babel.domain, admin_babel.wtforms_domain)
    for domain in domains:
        if not getattr(domain.get_translations, "per_request", False):
            remember_per_request(domain)
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["text_direction"] = text_direction
