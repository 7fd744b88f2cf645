"""The static files' addresses a page carries, built once per worker (admin/static_urls.py), are the ones url_for
builds, wherever the panel is mounted, and each serves its file."""
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import url_for


@pytest.mark.parametrize("roots", [("", "/crm"), ("/crm", "")])
def test_a_pages_static_addresses_are_url_fors_under_each_mount_point(app, login_as, roots):
    """Does a page under /crm link /crm/admin/static/..., though a page at the root was served first (and the other
    way round), and does every address it links serve its file?"""
    client = login_as("administrator")
    for root in roots:
        page = client.get("/admin/customer/", environ_overrides={"SCRIPT_NAME": root}).get_data(as_text=True)
        found = re.findall(r'(?:src|href)="([^"]*/admin/static/[^"]*)"', page)
        assert len(found) >= 15, found
        for address in found:
            parts = urlsplit(address.replace("&amp;", "&"))
            filename = parts.path.split("/admin/static/", 1)[1]
            with app.test_request_context("/admin/customer/", environ_overrides={"SCRIPT_NAME": root}):
                assert address.replace("&amp;", "&") == url_for("admin.static", filename=filename,
                                                                **dict(parse_qsl(parts.query)))
            assert parts.path.startswith(f"{root}/admin/static/"), address
            served = client.get(parts.path[len(root):], environ_overrides={"SCRIPT_NAME": root})
            assert served.status_code == 200, address
            served.close()
