"""Read list pages the way a user does: which records a page shows, and where its pager leads."""
import re
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
