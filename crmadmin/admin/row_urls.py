"""Addresses of the rows of a table, built once per page: url_for costs about 25 µs, and a page may need a hundred."""
from urllib.parse import quote_plus, urlencode

from flask import g, url_for
from werkzeug.datastructures import iter_multi_items

ROW_ID = "__row_id__"  # stands for a row's id in an address built once, replaced per row
QUERY_SAFE = "!$'()*,/:;?@"  # left as they are in a query string, as by Werkzeug (WHATWG percent-encode set)


def row_url(endpoint: str, row_id, **args) -> str:
    """url_for(endpoint, id=row_id, **args) for an endpoint taking the id in its query (Flask-Admin's views), the
    address routed once per request for each endpoint and arguments."""
    built = g.setdefault("crm_row_urls", {})
    key = (endpoint, *sorted(args.items()))
    template = built.get(key)
    if template is None:
        template = built[key] = url_for(endpoint, id=ROW_ID, **args)
    return template.replace(ROW_ID, quote_plus(str(row_id), safe=QUERY_SAFE))


def list_url(endpoint: str, **args) -> str:
    """url_for(endpoint, **args) for an endpoint without path variables: the route once per request, the query each
    time (encoded as Werkzeug does). A team summary links each owner's count: a hundred addresses on one page."""
    built = g.setdefault("crm_row_urls", {})
    base = built.get(endpoint)
    if base is None:
        base = built[endpoint] = url_for(endpoint)
    query = [(k, v) for k, v in iter_multi_items(args) if v is not None]  # a list's values each as Werkzeug does
    return f"{base}?{urlencode(query, safe=QUERY_SAFE)}" if query else base
