"""Above every list: the user's saved views (常用筛选) one click away, and the columns they chose, in their order.

A view holds what the list's address holds, its filters named by what they filter (label, column and operation), not
by Flask-Admin's position numbers: a filter removed or added since shifts no other, and one that is gone is left out
when the view opens, with a note that names it. Columns are chosen among those the list shows (`_list_columns`),
never a field the list does not offer; the sort keeps numbering the list's own columns, whatever the user shows.
"""
import re
from urllib.parse import parse_qsl

from flask import abort, flash, g, redirect, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import list_prefs
from ..auth.permissions import SHARE_VIEWS
from ..auth.routes import safe_next
from ..choices import BUILTIN_ROLE
from ..extensions import db
from ..models import Role
from .filter_links import _operation, _table_column
from .row_urls import list_url

FILTER_ARG = re.compile(r"flt(\d+)_(.+)")
# the list's address parts that are not what a view keeps: the page, the keyset cursor, and these tools' own
NOT_KEPT = {"page", "after", "before", "view", "cols", "search", "sort", "desc", "page_size"}


def url_decode(query: str) -> MultiDict:
    return MultiDict(parse_qsl(query, keep_blank_values=True))


def filter_key(flt) -> str:
    """A filter as a saved view names it: its untranslated label, column and operation (stable across releases)."""
    name = getattr(flt.name, "_args", (flt.name,))[0]
    column = getattr(flt, "column", None)
    return f"{name}|{_table_column(column) if column is not None else type(flt).__name__}|{_operation(flt)}"


def _filter_label(flt) -> str:
    return f"{flt.name} {flt.operation()}"


def page_prefs(view) -> tuple[list, list[str] | None]:
    """The user's views of this list and their chosen columns, read once a page (one statement)."""
    kept = g.setdefault("crm_list_prefs", {})
    if view.endpoint not in kept:
        rows = db.session.execute(list_prefs.list_page(current_user.id, view.endpoint)).all()
        chosen = list_prefs.read_columns(rows[0].chosen) if rows else None
        kept[view.endpoint] = ([row for row in rows if row.id is not None], chosen)
    return kept[view.endpoint]


def offered(view) -> list[str]:
    """The columns a user may choose among on this list: the list's own, nothing hidden or secret."""
    return [name for name, _label in view._list_columns]


def _state_from(view, args) -> dict:
    """What a list's address asks for, as a saved view keeps it."""
    filters = []
    for key, value in args.items(multi=True):
        match = FILTER_ARG.fullmatch(key)
        found = (view._filter_args or {}).get(match.group(2)) if match else None
        if found is not None:
            filters.append((int(match.group(1)), {"key": filter_key(found[1]), "label": _filter_label(found[1]),
                                                  "value": value}))
    sort = args.get("sort", type=int)
    columns = offered(view)
    chosen = _requested_columns(view, args)
    return {
        "search": args.get("search") or None,
        "filters": [f for _position, f in sorted(filters, key=lambda pair: pair[0])],
        "sort": columns[sort] if sort is not None and 0 <= sort < len(columns) else None,
        "desc": bool(args.get("desc", type=int)),
        "page_size": args.get("page_size", type=int) or None,
        "args": {k: v for k, v in args.items() if k not in NOT_KEPT and not FILTER_ARG.fullmatch(k)},
        "columns": chosen,
    }


def _requested_columns(view, args) -> list[str] | None:
    """The columns this page shows by the user's choice: a view's (`cols=`) or their own remembered ones."""
    if args.get("cols"):
        return [c for c in args["cols"].split(",") if c]
    if not current_user.is_authenticated:
        return None
    if request.method == "GET":
        return page_prefs(view)[1]
    return list_prefs.read_columns(db.session.scalar(list_prefs.chosen_columns(current_user.id, view.endpoint)))


def opened(view, row) -> tuple[str, list[str]]:
    """A saved view's address on this list, and what of it the list no longer has (each part named)."""
    state = list_prefs.state_of(row)
    by_key = {filter_key(flt): (index, flt) for index, flt in enumerate(view._filters or ())}
    args, dropped = {"view": row.id}, []
    position = 0
    for saved in state.get("filters") or ():
        if not isinstance(saved, dict):
            continue
        found = by_key.get(saved.get("key"))
        if found is None:
            dropped.append(_("the filter “%(filter)s”", filter=saved.get("label") or saved.get("key")))
            continue
        args[f"flt{position}_{view.get_filter_arg(*found)}"] = saved.get("value", "")
        position += 1
    columns = offered(view)
    if state.get("sort"):
        if state["sort"] in columns:
            args["sort"] = columns.index(state["sort"])
            if state.get("desc"):
                args["desc"] = 1
        else:
            dropped.append(_("the sort by “%(column)s”", column=state["sort"]))
    if state.get("search"):
        args["search"] = state["search"]
    if state.get("page_size"):
        args["page_size"] = state["page_size"]
    if isinstance(state.get("args"), dict):
        args.update({k: v for k, v in state["args"].items() if k not in args and isinstance(v, str)})
    if state.get("columns"):
        kept = [c for c in state["columns"] if c in columns]
        if len(kept) < len(state["columns"]):
            dropped.append(_("the columns %(columns)s", columns=", ".join(
                f"“{c}”" for c in state["columns"] if c not in columns)))
        if kept:
            args["cols"] = ",".join(kept)
    return list_url(f"{view.endpoint}.index_view", **args), dropped


def shown_columns(view, given: list) -> list:
    """The (name, label) pairs the page shows: the user's choice among `given` (the page's own), in its order."""
    chosen = _requested_columns(view, request.args)
    if not chosen:
        return given
    by_name = dict(given)
    shown = [(name, by_name[name]) for name in dict.fromkeys(chosen) if name in by_name]
    return shown or given


def apply_columns(view, kwargs: dict) -> None:
    """The list page's columns as the user chose them; the sort links and the sorted column keep the list's own
    numbering (`sort=` is a position in `_list_columns`)."""
    given = kwargs["list_columns"]
    shown = shown_columns(view, given)
    if shown is given and [name for name, _label in given] == [name for name, _label in view._list_columns]:
        return  # the list's own columns, numbered as Flask-Admin numbers them
    own = {name: index for index, (name, _label) in enumerate(view._list_columns)}
    kwargs["list_columns"] = shown
    sort_url, sorted_at = kwargs["sort_url"], kwargs.get("sort_column")
    kwargs["sort_url"] = lambda column, invert=False, desc=None: sort_url(own[shown[column][0]], invert, desc)
    names = [name for name, _label in shown]
    sorted_name = view._list_columns[sorted_at][0] if sorted_at is not None and 0 <= sorted_at < len(own) else None
    kwargs["sort_column"] = names.index(sorted_name) if sorted_name in names else None


def tools(view, kwargs: dict) -> dict:
    """What the views bar and the columns dialog show on this list page."""
    rows = page_prefs(view)[0]
    current = request.args.get("view", type=int)
    views, note = [], None
    roles = {role.id: {"id": role.id, "label": str(BUILTIN_ROLE.label(role.name)) if role.builtin else role.name}
             for role in db.session.scalars(db.select(Role).order_by(Role.name))} \
        if current_user.can(SHARE_VIEWS) or any(row.role_id for row in rows) else {}
    for row in rows:
        url, dropped = opened(view, row)
        views.append({"id": row.id, "name": row.name, "url": url, "mine": row.user_id == current_user.id,
                      "role_id": row.role_id, "role": roles.get(row.role_id), "active": row.id == current})
        if row.id == current and dropped:
            note = _("The saved view “%(name)s” was opened without %(parts)s: the list no longer has them.",
                     name=row.name, parts="; ".join(dropped))
    shown = [name for name, _label in kwargs["list_columns"]]
    labels = dict(view._list_columns)
    columns = [(name, labels[name], True) for name in shown if name in labels] + [
        (name, label, False) for name, label in view._list_columns if name not in shown]
    return {"views": views, "note": note, "columns": columns,
            "share_roles": list(roles.values()) if current_user.can(SHARE_VIEWS) else None,
            "query": request.query_string.decode("utf-8", "replace"), "here": request.full_path}


class ListToolsMixin:
    """The routes of the views bar and the columns dialog, on every list screen (POST, CSRF by CSRFProtect)."""

    def _handle_view(self, name, **kwargs):
        refused = super()._handle_view(name, **kwargs)
        if refused is None and name == "index_view" and "view" in request.args:
            view_id = request.args.get("view", type=int)
            if view_id is None or db.session.execute(list_prefs.visible_view(
                    view_id, current_user.id, self.endpoint)).first() is None:
                abort(404)  # another user's private view: not there
        return refused

    def _tools_back(self, drop=("cols",)) -> str:
        """Back to the list as it was (a path of this list only), less the parts just replaced."""
        home = list_url(f"{self.endpoint}.index_view")
        target = safe_next(request.form.get("url"), home)
        path, _sep, query = target.partition("?")
        if path != home:
            return home
        args = [(k, v) for k, v in url_decode(query).items(multi=True) if k not in drop]
        return list_url(f"{self.endpoint}.index_view", **_multi(args))

    def _saved_view_role(self):
        """The role a view is to be shared with (None: private); 403 for a user without the right to share."""
        value = request.form.get("role_id", "")
        if not value:
            return None
        if not current_user.can(SHARE_VIEWS):
            abort(403)
        role = db.session.get(Role, int(value)) if value.isdigit() else None
        if role is None:
            abort(400)
        return role.id

    def _saved_view_name(self) -> str | None:
        name = " ".join(request.form.get("name", "").split())
        if not name:
            flash(_("Give the view a name."), "error")
            return None
        if len(name) > list_prefs.NAME_MAX:
            flash(_("A view's name has at most %(max)d characters.", max=list_prefs.NAME_MAX), "error")
            return None
        return name

    @expose("/views/save/", methods=["POST"])
    def saved_view_save(self):
        """The list as it is now (search, filters, sort, columns) under a name, opened at once."""
        role_id = self._saved_view_role()
        name = self._saved_view_name()
        if name is None:
            return redirect(self._tools_back(drop=()))
        state = _state_from(self, url_decode(request.form.get("query", "")))
        try:
            view_id = list_prefs.save_view(db.session, current_user.id, self.endpoint, name, state, role_id)
        except list_prefs.NameTaken:
            return self._name_taken(name)
        db.session.commit()
        flash(_("The view “%(name)s” was saved.", name=name), "success")
        row = db.session.execute(list_prefs.own_view(view_id, current_user.id, self.endpoint)).first()
        return redirect(opened(self, row)[0])

    def _name_taken(self, name: str):
        """The user has a view of that name on this list already: nothing saved, the list again with the reason."""
        db.session.rollback()
        flash(_("You already have a view named “%(name)s” on this list: choose another name.", name=name), "error")
        return redirect(self._tools_back(drop=()))

    def _own_saved_view(self):
        view_id = request.form.get("id", "")
        row = db.session.execute(list_prefs.own_view(int(view_id), current_user.id, self.endpoint)).first() \
            if view_id.isdigit() else None
        if row is None:
            abort(404)  # another user's view, shared or not, is not theirs to change
        return row

    @expose("/views/update/", methods=["POST"])
    def saved_view_update(self):
        """Rename one's own view, and (with views.share) share it with a role or make it private again."""
        row = self._own_saved_view()
        # without views.share the sharing stays as it is; asking to change it is refused (403) by _saved_view_role
        role_id = self._saved_view_role() if current_user.can(SHARE_VIEWS) or request.form.get("role_id") \
            else row.role_id
        name = self._saved_view_name()
        if name is None:
            return redirect(self._tools_back(drop=()))
        try:
            list_prefs.change_view(db.session, row.id, name, role_id)
        except list_prefs.NameTaken:
            return self._name_taken(name)
        db.session.commit()
        flash(_("The view “%(name)s” was saved.", name=name), "success")
        return redirect(self._tools_back(drop=()))

    @expose("/views/delete/", methods=["POST"])
    def saved_view_delete(self):
        row = self._own_saved_view()
        list_prefs.delete_view(db.session, row.id)
        db.session.commit()
        flash(_("The view “%(name)s” was deleted.", name=row.name), "success")
        return redirect(self._tools_back(drop=("view", "cols")))

    @expose("/columns/", methods=["POST"])
    def columns_choose(self):
        """The columns checked, in the order given; a column the list does not offer refuses the whole choice."""
        allowed = offered(self)
        order = list(dict.fromkeys(request.form.getlist("column")))
        shown = set(request.form.getlist("show"))
        unknown = [name for name in [*order, *shown] if name not in allowed]
        if unknown:
            flash(_("This list has no column “%(column)s”. Nothing was changed.", column=unknown[0][:64]), "error")
            return redirect(self._tools_back())
        chosen = [name for name in order if name in shown] + [name for name in allowed
                                                              if name in shown and name not in order]
        if not chosen:
            flash(_("Choose at least one column. Nothing was changed."), "error")
            return redirect(self._tools_back())
        list_prefs.choose_columns(db.session, current_user.id, self.endpoint, chosen)
        db.session.commit()
        flash(_("Your columns for this list were saved."), "success")
        return redirect(self._tools_back())

    @expose("/columns/reset/", methods=["POST"])
    def columns_reset(self):
        list_prefs.reset_columns(db.session, current_user.id, self.endpoint)
        db.session.commit()
        flash(_("This list shows its usual columns again."), "success")
        return redirect(self._tools_back())


def _multi(pairs) -> dict:
    """Query pairs as list_url takes them (a name given twice keeps both values)."""
    args: dict = {}
    for key, value in pairs:
        args.setdefault(key, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in args.items()}
