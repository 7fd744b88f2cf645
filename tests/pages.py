"""Read list pages the way a user does: which records a page shows, and where its pager leads."""
import re
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit


def listed_ids(client, url: str) -> set[int]:
    """The ids of the records a list page shows, all on one page."""
    parts = urlsplit(url)
    query = urlencode(parse_qsl(parts.query) + [("page_size", "100")])
    response = client.get(f"{parts.path}?{query}")
    assert response.status_code == 200, url
    return {int(i) for i in re.findall(r"/details/\?id=(\d+)", response.get_data(as_text=True))}


def listed_in_order(client, url: str) -> list[int]:
    """The ids of the records a list page shows, in the order shown (from the rows' selection boxes)."""
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    return [int(i) for i in re.findall(r'name="rowid" class="action-checkbox" value="(\d+)"', html)]


class FigureParser(HTMLParser):
    """Every element marked data-figure: its text and, for a link, where it leads."""

    def __init__(self):
        super().__init__()
        self.found, self._open = {}, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-figure" in attrs:
            self._open = attrs["data-figure"]
            self.found[self._open] = ["", attrs.get("href")]

    def handle_data(self, data):
        if self._open:
            self.found[self._open][0] += data

    def handle_endtag(self, tag):
        self._open = None


def figures_on(client, url: str, headers=None) -> dict[str, tuple[str, str | None]]:
    """The figures a page shows (dashboard, Satisfaction): key -> (text, link or None)."""
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    parser = FigureParser()
    parser.feed(response.get_data(as_text=True))
    return {key: (text.strip(), href) for key, (text, href) in parser.found.items()}


def shown_total(page: str) -> str | None:
    """The total a list page shows in its "List (N)" tab: "12", or "1,000+" when counting stopped at the cap."""
    found = re.search(r">\s*List\s*\(([^)]*)\)\s*<", page)
    return found.group(1) if found else None
