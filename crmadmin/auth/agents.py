"""A browser's User-Agent header in a few readable words ("Chrome 131 on Windows"), for the list of one's sessions.

A plain reading of the browsers and systems staff use, not a full parser: the list only has to let a user recognise
their own devices, and a library such as ua-parser brings two packages and a monthly regex release to keep pinned.
What is not recognised says so ("Unknown browser"); the full header stays on the page as the entry's title.
"""
import re

from flask_babel import gettext as _, lazy_gettext as _l

# first match wins: apps built on Chrome name themselves after "Chrome/", Chrome after Safari's "Version/"
BROWSERS = (
    (re.compile(r"MicroMessenger/(\d+)"), _l("WeChat")),
    (re.compile(r"DingTalk/(\d+)"), _l("DingTalk")),
    (re.compile(r"(?:Lark|Feishu)/(\d+)"), _l("Feishu")),
    (re.compile(r"QQBrowser/(\d+)"), _l("QQ Browser")),
    (re.compile(r"UCBrowser/(\d+)"), _l("UC Browser")),
    (re.compile(r"HuaweiBrowser/(\d+)"), _l("Huawei Browser")),
    (re.compile(r"MiuiBrowser/(\d+)"), _l("Xiaomi Browser")),
    (re.compile(r"SamsungBrowser/(\d+)"), "Samsung Internet"),
    (re.compile(r"Edg(?:e|A|iOS)?/(\d+)"), "Edge"),
    (re.compile(r"(?:OPR|Opera)/(\d+)"), "Opera"),
    (re.compile(r"(?:Firefox|FxiOS)/(\d+)"), "Firefox"),
    (re.compile(r"(?:Chrome|CriOS)/(\d+)"), "Chrome"),
    (re.compile(r"Version/(\d+)[\d.]* (?:Mobile/\w+ )?Safari/"), "Safari"),
)
SYSTEMS = (
    (re.compile(r"HarmonyOS|OpenHarmony"), _l("HarmonyOS")),
    (re.compile(r"iPad.*? OS (\d+)"), "iPadOS"),
    (re.compile(r"(?:iPhone|iPod).*? OS (\d+)"), "iOS"),
    (re.compile(r"Android (\d+)"), "Android"),
    (re.compile(r"Windows"), "Windows"),  # 10 and 11 send the same "Windows NT 10.0": no number is honest
    (re.compile(r"Macintosh|Mac OS X"), "macOS"),  # browsers freeze its version at 10.15.7
    (re.compile(r"CrOS"), "ChromeOS"),
    (re.compile(r"Linux"), "Linux"),
)


def _first(table, header: str) -> str | None:
    for pattern, name in table:
        found = pattern.search(header)
        if found:
            version = found.group(1) if found.groups() else None
            return f"{name} {version}" if version else str(name)
    return None


def browser(header: str | None) -> str:
    """The browser and its major version, or "Unknown browser"."""
    return _first(BROWSERS, header or "") or str(_l("Unknown browser"))


def describe(header: str | None) -> str:
    """"Chrome 131 on Windows"; the browser alone when the system is not known."""
    found = _first(SYSTEMS, header or "")
    return _("%(browser)s on %(system)s", browser=browser(header), system=found) if found else browser(header)
