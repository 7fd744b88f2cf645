"""Saved views (常用筛选) and chosen columns of lists: the statements that read and write them.

Plain SQL on the tables (as import mappings are written), so a user's preferences stay out of the operation log.
No Flask here: the caller says who asks (their id and their roles' ids) and which list (its endpoint).
"""
import json

from sqlalchemy import and_, delete, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from .models import ListColumns, SavedView, user_role, utcnow

VIEW = SavedView.__table__
COLUMNS = ListColumns.__table__
NAME_MAX = VIEW.c.name.type.length


class NameTaken(ValueError):
    """The user already has a view of that name on that list."""


def _visible(user_id: int, endpoint: str):
    """The views of a list a user may open: their own, and those shared with one of their roles."""
    roles = select(user_role.c.role_id).where(user_role.c.user_id == user_id)
    return and_(VIEW.c.endpoint == endpoint, or_(VIEW.c.user_id == user_id, VIEW.c.role_id.in_(roles)))


def list_page(user_id: int, endpoint: str):
    """What a list page needs of a user's preferences, in one statement: the views they may open (their own first,
    then shared ones, each by name) and, on every row, the columns they chose (None: the list's own). A user with no
    view gets one row whose view columns are empty."""
    anchor = select(literal(1).label("one")).subquery()
    chosen = chosen_columns(user_id, endpoint).scalar_subquery().label("chosen")
    return (select(chosen, VIEW).select_from(anchor.outerjoin(VIEW, _visible(user_id, endpoint)))
            .order_by((VIEW.c.user_id != user_id), VIEW.c.name, VIEW.c.id))


def visible_view(view_id: int, user_id: int, endpoint: str):
    """One view, if this user may open it on this list (another user's private view is no view at all)."""
    return select(VIEW).where(VIEW.c.id == view_id, _visible(user_id, endpoint))


def own_view(view_id: int, user_id: int, endpoint: str):
    """One view, if this user owns it on this list: only the owner renames, shares or deletes a view."""
    return select(VIEW).where(VIEW.c.id == view_id, VIEW.c.user_id == user_id, VIEW.c.endpoint == endpoint)


def save_view(session, user_id: int, endpoint: str, name: str, state: dict, role_id: int | None) -> int:
    """A new view; NameTaken (nothing saved) when the user has one of that name on this list."""
    now = utcnow()
    try:
        with session.begin_nested():
            result = session.execute(insert(VIEW).values(
                user_id=user_id, endpoint=endpoint, name=name, state=json.dumps(state, ensure_ascii=False),
                role_id=role_id, created_at=now, updated_at=now))
    except IntegrityError as error:
        raise NameTaken(name) from error
    return result.inserted_primary_key[0]


def change_view(session, view_id: int, name: str, role_id: int | None) -> None:
    """Rename a view and set the role it is shared with (None: the owner's alone); NameTaken leaves it as it was."""
    try:
        with session.begin_nested():
            session.execute(update(VIEW).where(VIEW.c.id == view_id).values(name=name, role_id=role_id,
                                                                             updated_at=utcnow()))
    except IntegrityError as error:
        raise NameTaken(name) from error


def delete_view(session, view_id: int) -> None:
    session.execute(delete(VIEW).where(VIEW.c.id == view_id))


def state_of(row) -> dict:
    """A saved view's search, filters, sort and columns; a damaged value reads as an empty view, not an error."""
    try:
        state = json.loads(row.state)
    except (TypeError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def chosen_columns(user_id: int, endpoint: str):
    return select(COLUMNS.c.columns).where(COLUMNS.c.user_id == user_id, COLUMNS.c.endpoint == endpoint)


def read_columns(text: str | None) -> list[str] | None:
    try:
        names = json.loads(text) if text else None
    except ValueError:
        return None
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else None


def choose_columns(session, user_id: int, endpoint: str, names: list[str]) -> None:
    """Remember the columns a user chose for a list, in their order."""
    text = json.dumps(names, ensure_ascii=False)
    mine = (COLUMNS.c.user_id == user_id) & (COLUMNS.c.endpoint == endpoint)
    if session.execute(update(COLUMNS).where(mine).values(columns=text, updated_at=utcnow())).rowcount:
        return
    try:
        with session.begin_nested():
            session.execute(insert(COLUMNS).values(user_id=user_id, endpoint=endpoint, columns=text,
                                                   updated_at=utcnow()))
    except IntegrityError:  # the same user's other tab saved first: the later choice wins
        session.execute(update(COLUMNS).where(mine).values(columns=text, updated_at=utcnow()))


def reset_columns(session, user_id: int, endpoint: str) -> None:
    """Back to the list's own columns."""
    session.execute(delete(COLUMNS).where(COLUMNS.c.user_id == user_id, COLUMNS.c.endpoint == endpoint))


def forget(connection, holds, mask) -> int:
    """An erased person's values out of saved views (a search for their name, a filter on their mobile): each view
    where `holds(text)` has them masked by `mask(text)`; returns the views changed."""
    changed = 0
    for row in connection.execute(select(VIEW.c.id, VIEW.c.name, VIEW.c.state)):
        name = mask(row.name) if holds(row.name) else row.name
        state = mask(row.state) if holds(row.state) else row.state
        if (name, state) != (row.name, row.state):
            connection.execute(update(VIEW).where(VIEW.c.id == row.id).values(
                name=f"{name[:NAME_MAX - 8]} #{row.id}", state=state, updated_at=utcnow()))
            changed += 1
    return changed
