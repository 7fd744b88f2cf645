"""Which language a request speaks: the user's choice, else the browser's, else English."""
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale
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


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["current_language"] = current_language
