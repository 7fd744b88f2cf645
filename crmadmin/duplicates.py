"""Likely duplicate customers, found without comparing every customer with every other.

Exact matches (same mobile, same e-mail) are GROUP BYs over indexed match keys (crmadmin/matching.py). Names are
compared only within a block: the customers at one company, or at one address, whose name keys begin with the same
letter, read in the order of the (place, name) index so that a block's customers come together; `rapidfuzz`
scores the names inside each block. Sections come in order of confidence and the page walks them with a cursor
(section, last key), so a page costs a few statements however many groups it shows, and page 500 costs what
page 1 does.

rapidfuzz over difflib: the same Levenshtein-based ratio, in C++ (difflib's SequenceMatcher is pure Python and not
a true edit distance), MIT licensed, maintained, with wheels for every platform and no dependencies.
"""
from dataclasses import dataclass, field
from itertools import groupby

from rapidfuzz import fuzz
from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import Session, joinedload

from .models import Customer, CustomerMatch

MATCH = CustomerMatch.__table__
CUSTOMER = Customer.__table__
EXACT = {"phone": MATCH.c.phone, "email": MATCH.c.email}
PLACES = {"company": MATCH.c.company, "address": MATCH.c.address}
SECTIONS = ("phone", "email", "company", "address")  # most certain first
CONFIDENCE = {"phone": 100, "email": 95}  # names: their similarity, weighed below the exact keys
SIMILAR = 90  # rapidfuzz ratio of two name keys from which they are "very similar" (one slip in ten letters)
NAME_WEIGHT = 0.85
STREAM_ROWS = 1_000


@dataclass
class Group:
    section: str  # phone, email, company, address
    key: str
    ids: list[int]
    similarity: int = 100  # names: the lowest similarity between two linked names of the group, in percent
    same_name: bool = True
    customers: list = field(default_factory=list)

    @property
    def confidence(self) -> int:
        return CONFIDENCE.get(self.section) or round(self.similarity * NAME_WEIGHT)


def _scoped(stmt: Select, owner_id: int | None) -> Select:
    """Only the customers this owner holds (a role limited to its own customers), else all."""
    if owner_id is None:
        return stmt
    return stmt.join(CUSTOMER, CUSTOMER.c.id == MATCH.c.customer_id).where(CUSTOMER.c.owner_id == owner_id)


def exact_keys(section: str, owner_id: int | None = None, after: str | None = None, limit: int = 20) -> Select:
    """Phones (or e-mails) held by two or more customers, in key order from `after`."""
    key = EXACT[section]
    stmt = _scoped(select(key).where(key.is_not(None)), owner_id)
    if after is not None:
        stmt = stmt.where(key > after)
    return stmt.group_by(key).having(func.count() > 1).order_by(key).limit(limit)


def exact_members(section: str, keys: list[str], owner_id: int | None = None) -> Select:
    """The customers holding these phones (or e-mails), by key then id."""
    key = EXACT[section]
    return _scoped(select(key, MATCH.c.customer_id).where(key.in_(keys)), owner_id).order_by(key, MATCH.c.customer_id)


def name_blocks(section: str, owner_id: int | None = None, after: tuple[str, str] | None = None) -> Select:
    """(place, name key, customer id) of the customers with a company (or address), in the order of the index on
    (place, name) from `after`: the customers of one block (place, first letter of the name) come one after another,
    so a page reads only as far as it needs."""
    place = PLACES[section]
    stmt = _scoped(select(place, MATCH.c.name, MATCH.c.customer_id)
                   .where(place.is_not(None), MATCH.c.name.is_not(None)), owner_id)
    if after is not None:
        stmt = stmt.where(tuple_(place, MATCH.c.name) > tuple_(*after))
    return stmt.order_by(place, MATCH.c.name, MATCH.c.customer_id)


def similar_groups(members: list[tuple[str, int]]) -> list[tuple[list[int], int, bool]]:
    """Within one block, (ids, lowest linking similarity, all names equal) of each set of linked similar names."""
    parent = list(range(len(members)))
    weakest = {}

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (name_i, _id) in enumerate(members):
        for j in range(i + 1, len(members)):
            score = fuzz.ratio(name_i, members[j][0], score_cutoff=SIMILAR)
            if score:
                a, b = root(i), root(j)
                low = min(score, weakest.get(a, 100), weakest.get(b, 100))
                parent[b] = a
                weakest[a] = low
    found = {}
    for i in range(len(members)):
        found.setdefault(root(i), []).append(i)
    return [([members[i][1] for i in idx], round(weakest.get(r, 100)), len({members[i][0] for i in idx}) == 1)
            for r, idx in found.items() if len(idx) > 1]


@dataclass
class Page:
    groups: list[Group]
    next_cursor: tuple[str, str, str] | None  # (section, after, after2) of the next page, if the page was full


def find(session: Session, owner_id: int | None = None, sections=SECTIONS, cursor: tuple | None = None,
         limit: int = 20) -> Page:
    """One page of duplicate groups, most certain first, starting after `cursor`; members loaded in one statement."""
    groups: list[Group] = []
    next_cursor = None
    start = sections.index(cursor[0]) if cursor and cursor[0] in sections else 0
    for position, section in enumerate(sections[start:]):
        after = cursor[1:] if cursor and position == 0 else None
        need = limit - len(groups)
        if need <= 0:  # the page is full: the next one starts with this section
            next_cursor = (section, "", "")
            break
        if section in EXACT:
            keys = session.execute(exact_keys(section, owner_id, after[0] if after else None, need + 1)).scalars().all()
            if len(keys) > need:
                keys, next_cursor = keys[:need], (section, keys[need - 1], "")
            rows = session.execute(exact_members(section, keys, owner_id)).all() if keys else []
            groups += [Group(section, key, [r[1] for r in members])
                       for key, members in groupby(rows, key=lambda r: r[0])]
        else:
            next_cursor = _blocks(session, section, owner_id, tuple(after) if after else None, need, groups)
        if next_cursor:
            break
    _load(session, groups)
    return Page(groups, next_cursor)


def _blocks(session, section, owner_id, after, need, groups) -> tuple | None:
    """Add the name groups of the blocks after `after` until `need` are found; the cursor if it stopped early."""
    result = session.execute(name_blocks(section, owner_id, after).execution_options(yield_per=STREAM_ROWS))
    found = 0
    try:
        for (place, _initial), rows in groupby(result, key=lambda r: (r[0], r[1][:1])):
            members = [(r[1], r[2]) for r in rows]
            if len(members) < 2:
                continue
            found_here = [Group(section, place, ids, similarity, same)
                          for ids, similarity, same in similar_groups(members)]
            # within a block, the closest names first
            for group in sorted(found_here, key=lambda g: -g.similarity):
                groups.append(group)
                found += 1
            if found >= need:
                return section, place, members[-1][0]  # the next page starts after this block's last name
    finally:
        result.close()
    return None


def _load(session: Session, groups: list[Group]) -> None:
    ids = {i for g in groups for i in g.ids}
    if not ids:
        return
    customers = {c.id: c for c in session.scalars(select(Customer).options(joinedload(Customer.owner))
                                                  .where(Customer.id.in_(ids)))}
    for group in groups:
        group.customers = [customers[i] for i in group.ids if i in customers]


def holders(section: str, key: str, except_id: int | None = None) -> Select:
    """The ids of the customers whose phone (or e-mail) key is `key`, but for the one being edited: a form's number
    that another customer already has."""
    column = EXACT[section]
    stmt = select(MATCH.c.customer_id).where(column == key)
    if except_id is not None:
        stmt = stmt.where(MATCH.c.customer_id != except_id)
    return stmt.order_by(MATCH.c.customer_id)
