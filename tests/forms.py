"""Read an HTML form the way a browser would, so tests post exactly what the page offers (CSRF included)."""
import re
from html.parser import HTMLParser


class _FormParser(HTMLParser):
    def __init__(self, form_id=None):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.in_form = False
        self.done = False
        self.fields: dict[str, object] = {}
        self.action = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and not self.done and not self.in_form:
            if self.form_id is None and a.get("method", "get").lower() == "post" and "admin-form" in a.get("class", "") \
                    or self.form_id is not None and a.get("id") == self.form_id:
                self.in_form, self.action = True, a.get("action")
            return
        if not self.in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    if kind == "checkbox" and name in self.fields:
                        existing = self.fields[name]
                        self.fields[name] = (existing if isinstance(existing, list) else [existing]) + [a.get("value", "y")]
                    else:
                        self.fields[name] = a.get("value", "y")
            elif kind not in ("submit", "button", "file"):
                self.fields[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select, self._multiple, self._first, self._chosen = name, "multiple" in a, None, []
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first is None:
                self._first = value
            if "selected" in a:
                self._chosen.append(value)
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            if self._multiple:
                if self._chosen:
                    self.fields[self._select] = self._chosen
            else:  # a browser submits the first option when none is marked selected
                chosen = self._chosen[-1] if self._chosen else self._first
                if chosen is not None:
                    self.fields[self._select] = chosen
            self._select = None
        elif tag == "textarea":
            if self._textarea:
                text = self.fields[self._textarea]  # a browser drops one newline right after <textarea>
                self.fields[self._textarea] = text[2:] if text.startswith("\r\n") else text[1:] if text.startswith("\n") else text
            self._textarea = None
        elif tag == "form" and self.in_form:
            self.in_form, self.done = False, True


def read_form(html: str, form_id: str | None = None) -> dict:
    """The fields a browser would submit from the page's admin form (or the form with this id)."""
    parser = _FormParser(form_id)
    parser.feed(html)
    assert parser.done or parser.fields, "no form found on the page"
    return dict(parser.fields)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def submit(client, url: str, changes: dict, form_id: str | None = None, **kwargs):
    """GET the page, fill the form with `changes`, POST it back like a browser."""
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    data = read_form(page.get_data(as_text=True), form_id)
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(url, data=data, **kwargs)
