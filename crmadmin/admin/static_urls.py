"""Addresses of the panel's static files, built once per worker: Flask-Admin's pages ask for about twenty each, and
url_for routed every one of them again on every request."""
from flask import current_app, request, url_for

KEPT = 256  # addresses per worker before the store starts again: a few dozen files x the paths the panel is under


def admin_static_url(admin_endpoint: str, *args, **kwargs) -> str:
    """url_for('<admin>.static', ...) as Flask-Admin's admin/static.html macro calls it, remembered per mount point
    (the script root), file and version."""
    key = (request.script_root, admin_endpoint, args, tuple(sorted(kwargs.items())))
    kept = current_app.extensions.setdefault("crm_static_urls", {})
    url = kept.get(key)
    if url is None:
        if len(kept) >= KEPT:
            kept.clear()
        url = kept[key] = url_for(f"{admin_endpoint}.static", *args, **kwargs)
    return url


def init_app(app) -> None:
    app.jinja_env.globals["admin_static_url"] = admin_static_url
