"""Substring search that an index answers: pg_trgm GIN indexes on PostgreSQL, an FTS5 trigram table on SQLite.

`ILIKE '%term%'` reads every row (about 2 s at a million customers). Both indexes are made of trigrams, so they answer
terms of three or more characters; a shorter term asks the index of pieces (`pieces`: customers and contacts), or
elsewhere falls back to that scan, which gives the same rows, only slower.

The indexes are not in the models (neither SQLAlchemy nor Alembic can describe an FTS5 table or a GIN operator class
per dialect): migration 3c1f0e7a9b42 creates them, `is_search_object` keeps autogenerate from dropping them, and the
SQLite table is kept in step by triggers, so every path that writes a customer (forms, CLI, bulk SQL) updates it.
An Alembic batch migration that rebuilds `customer` on SQLite drops those triggers: run `create(conn)` after it.
"""
import unicodedata

from sqlalchemy import (Integer, Text, Unicode, and_, any_, bindparam, case, cast, column, exists, func, literal_column,
                        or_, select, table, text)
from sqlalchemy.dialects.postgresql import ARRAY

from . import fts5, pieces

MIN_LENGTH = 3  # a trigram index needs a whole trigram
INDEXED = {"customer": ("name", "mobile", "email", "company_name", "address"), "interaction": ("summary",)}
# Tables whose own list searches words that may fill a large share of the rows (a summary's "called", a company's
# 有限公司 or 科技, an e-mail's "com"): a search's matches are counted first, up to COMMON; a common search is matched
# on the rows themselves, where a page of them is found at once in the list's order, instead of collecting hundreds of
# thousands of ids from the index (有限公司 took 1.7 s at a million customers on PostgreSQL that way).
PROBED = {"customer", "interaction"}
# PostgreSQL also holds a customer's searched fields as one text in one trigram index (migration 9e4b2d7a1c30, the
# address since d3f1a8c6b5e2): words that are common in one field, and searched in all of them, are then intersected
# inside that index scan instead of as bitmaps of their rows ("corp mail", each word in a fifth of the e-mails: 56 ms of
# SQL through an index per field, 18).
DOCUMENTS = {"customer": ("name", "mobile", "email", "company_name", "address")}
DOCUMENT_STATISTICS = 1000  # as the searched columns' own (migration c5e8a2f4d1b7), for the plans of its matches
COMMON = 5000
# PostgreSQL's estimate goes first. From 1,000-entry statistics of names, e-mails and companies (migration
# c5e8a2f4d1b7) it put 52 single words within a factor of 0.6 to 1.7 of their rows, so a word it expects in
# SURELY_COMMON rows or more (then in some 2,000 at least, whose page over the rows reads 10,000 rows at worst: 12 ms)
# is matched over the rows unprobed: a probe that fills up costs 11 ms for nothing ("Hill", 5,395 customers, estimated
# at 3,907: 36 ms a page, 21 unprobed). Several words are estimated as if unrelated, which they may not be ("corp
# mail": 40,000 customers expected, none found), so they answer to SEVERAL_WORDS_COMMON below.
SURELY_COMMON = 3500
# Several words estimated in this many rows are matched over the rows, where a page of them is found at once ("科技
# 有限公司", together in 7 % of the customers: probed, 190 ms, as the two words' index entries are intersected), and
# their count gathers its matches: when it ends under the cap, they were few after all and the page looks them up
# instead of reading on for rows that are not there ("corp mail": 1.3 s).
SEVERAL_WORDS_COMMON = 4 * COMMON
# PostgreSQL counts a common word's rows up to the list's cap by reading the table until it has them, which it
# reckons cheap, but four ILIKEs a row cost about 1 µs: a word in 1.4 % of a million customers ("Ste") read 70,000
# rows, 73 ms, where its trigram index answers in 15. Below this share of the rows, its count is made to use the index.
INDEX_COUNT_SHARE = 0.1
# Columns that repeat a short list of values over millions of rows (a purchase's product): searched through that list,
# read from their B-tree index, instead of through a trigram index as big as the table.
CATALOGUED = {"transaction": ("product",)}
CATALOGUE_LIMIT = 2000  # more distinct values than this, and a search reads the rows themselves


def _fts(table_name: str) -> str:
    return f"search_{table_name}"


def _gin(table_name: str, column_name: str) -> str:
    return f"ix_search_{table_name}_{column_name}"


def is_search_object(name: str | None) -> bool:
    """The FTS5 table and its shadow tables, or a GIN index: made by the migrations, absent from the models."""
    return bool(name) and name.startswith(tuple(f"search_{t}" for t in INDEXED) + ("ix_search_", pieces.NUMBERS))


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter: leave the search indexes out of the comparison between the database and the models."""
    return not (reflected and compare_to is None and is_search_object(name))


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def matching_ids(table_name: str, columns, terms, dialect: str, planned: bool = True):
    """A select of the ids of the rows where each of `terms` (one, or a list: all of them) occurs in one of `columns`,
    ignoring case; through the index if it can. All the words in one statement, so PostgreSQL intersects their index
    look-ups (BitmapAnd) and SQLite's FTS5 does the same, instead of collecting every row of each common word. Words of
    one or two characters ask the index of pieces (`pieces`) where it holds the columns, else read the rows. Not
    `planned`: for a statement kept to the indexes on PostgreSQL (`contains`)."""
    columns, terms = tuple(columns), [terms] if isinstance(terms, str) else list(terms)
    short = [term for term in terms if len(term) < MIN_LENGTH]
    pieced = bool(short) and pieces.covers(table_name, columns, short)
    if dialect == "sqlite" and not short:
        return _fts5_matches(table_name, columns, terms)
    if dialect == "sqlite" and pieced:  # the index of pieces for every word, the longer ones checked on its rows
        found, longer = pieces.matching_rowids(table_name, columns, terms), [t for t in terms if t not in short]
        if not longer:
            return found
        candidates, rows = found.subquery(), table(table_name, column("id"), *(column(name) for name in columns))
        return (select(rows.c.id).join_from(candidates, rows, rows.c.id == candidates.c.rowid)
                .where(*(_in_one_of(rows, columns, term, dialect) for term in longer)))
    # PostgreSQL answers (I)LIKE from the GIN indexes (and a short word from the pieces'); a short word on SQLite, or in
    # a field whose pieces are not indexed, reads the rows
    pieced = pieced and dialect == "postgresql"
    every_piece = set(pieces.INDEXED.get(table_name, ()) if pieced else ())
    rows = table(table_name, column("id"), *(column(name) for name in sorted(set(columns) | every_piece)))
    # the pieces are of all their fields: exact for a short word when those are the columns searched, else rechecked
    matched = [term for term in terms if not (pieced and len(term) < MIN_LENGTH and every_piece == set(columns))]
    found = select(rows.c.id).where(*(_in_one_of(rows, columns, term, dialect, whole=not short, planned=planned)
                                      for term in matched))
    return found.where(pieces.rows_holding(rows, short)) if pieced else found


def _fts5_matches(table_name: str, columns, terms):
    """SQLite: the rowids of the FTS5 table where each of `terms` (of three characters or more) is in one of `columns`.

    Each word is a phrase of its trigrams, checked position by position in every row holding them all. Several words
    are gated by their trigrams as bare tokens, whose rows FTS5 merges without reading a position: the phrases are the
    query only if some row holds every trigram, else an empty phrase, which matches no row ("corp mail", each word in
    a fifth of the e-mails and together in none: 21.7 ms, 15.4 gated). A column filter naming every column of the
    table is left out: FTS5 still checks it against each position (corp mail 21.8 ms with it, 18.7 without)."""
    name = _fts(table_name)
    fts = table(name, column("rowid"), column(name))
    within = "" if set(columns) == set(INDEXED[table_name]) else "{%s} : " % " ".join(columns)
    query = " AND ".join(within + _fts5_string(term) for term in terms)
    if len(terms) > 1:
        trigrams = dict.fromkeys(term[i:i + MIN_LENGTH] for term in terms for i in range(len(term) - MIN_LENGTH + 1))
        gate = table(name, column(name)).alias("gate")
        held = exists().where(gate.c[name].match(" AND ".join(_fts5_string(trigram) for trigram in trigrams)))
        query = case((held, query), else_=_fts5_string(""))
    return select(fts.c.rowid).where(fts.c[name].match(query))


def _fts5_string(text_: str) -> str:
    """`text_` as an FTS5 string: a phrase of its trigrams, with nothing in it read as query syntax."""
    return '"%s"' % text_.replace('"', '""')


def _in_one_of(rows, columns, term: str, dialect: str, whole: bool = False, planned: bool = True):
    """`term` is in one of `rows`' `columns`, ignoring case: the plain substring match every index answers for. With
    `whole`, on PostgreSQL, all of a table's DOCUMENTS columns are matched as its document, which one index holds: for
    searches whose every word has a trigram (a shorter word is no use to that index, and 科技 有限公司, whose words
    go together, was then counted through the document's 330,000 entries of 有限公司 in 39 ms instead of reading
    14,000 rows in 7)."""
    if whole and dialect == "postgresql" and sorted(columns) == sorted(DOCUMENTS.get(rows.name, ())):
        return contains(document(rows, DOCUMENTS[rows.name]), term, dialect, planned)
    return or_(*(contains(rows.c[name], term, dialect, planned) for name in columns))


def _each_in_one_of(rows, columns, terms, dialect: str, planned: bool = True):
    """Each of `terms` is in one of `rows`' `columns` (`_in_one_of`): in the document when every word has a trigram."""
    whole = all(len(term) >= MIN_LENGTH for term in terms)
    return and_(*(_in_one_of(rows, columns, term, dialect, whole=whole, planned=planned) for term in terms))


def document(rows, columns):
    """The columns as one text, each after a space: both the document index's expression (`create_documents`) and what
    searches match, so PostgreSQL pairs the two; a word, which never holds a space, is in it when it is in a column."""
    parts = [func.coalesce(rows.c[name], literal_column("''")) for name in columns]
    whole = parts[0]
    for part in parts[1:]:
        whole = whole.op("||")(literal_column("' '")).op("||")(part)
    return whole


def contains(expression, term: str, dialect: str, planned: bool = True):
    """`term` occurs in `expression`, ignoring case, with `%` and `_` taken literally. SQLite's LIKE already ignores
    the case of ASCII letters, the only ones its lower() lowers: 40 ms against 100 over "Ste"'s rows.

    Not `planned`, on PostgreSQL, the pattern is a subquery's value, which the planner cannot see: for statements kept
    to the trigram indexes, where its estimate chooses nothing, it no longer matches the pattern against the column's
    1,000 entries of statistics (1.5 to 1.8 ms a statement for two words); the index scan reads it as it starts."""
    pattern = f"%{escape_like(term)}%"
    if not planned and dialect == "postgresql":
        pattern = select(bindparam(None, pattern, Unicode)).scalar_subquery()
    if dialect == "sqlite" or _caseless(term):
        return expression.like(pattern, escape="\\")
    return expression.ilike(pattern, escape="\\")


def _caseless(term: str) -> bool:
    """No character of `term` has a case (digits, ASCII punctuation, Chinese), so LIKE finds what ILIKE finds without
    lowering every field it reads: PostgreSQL counted 科技 有限公司 over 14,000 customers in 9 ms instead of 40."""
    return all(char.lower() == char == char.upper()
               and (char.isascii() and not char.isalpha() or unicodedata.category(char) == "Lo") for char in term)


def whose_text_contains(key, table_name: str, columns, terms, dialect: str):
    """`key` (an id column, or a foreign key to `table_name`) is one of the matching rows' ids.

    PostgreSQL gets `key = ANY(ARRAY(subquery))`: the ids are collected once from the trigram indexes, then looked up.
    As `key IN (subquery)` it would flatten the subquery into a semi-join and, for ORDER BY id DESC LIMIT 21, walk the
    whole primary key backwards testing each row: 4 s for a rare e-mail fragment at a million customers, 3 ms this way.
    """
    ids = matching_ids(table_name, columns, terms, dialect)
    if dialect == "postgresql":
        return key == any_(func.array(ids.scalar_subquery()))
    return key.in_(ids)


def own_rows_containing(session, table_, columns, terms, dialect: str):
    """The rows of `table_` (a PROBED table, searched on its own list) where each of `terms` (one, or a list) is in one
    of `columns`: through the index when the rows are few, as a plain match over the rows when they are many (COMMON
    or more), where a page of them is found at once in the list's order, or when a word is too short for the indexes.

    Returned as (condition, counted). For a common search `counted` is, on SQLite, the index's matching ids for the
    list's count to join (the plain match would read rows until the count's cap: "Smith", in 1 % of a million
    customers, 70 ms; the ids as `IN (subquery)` would be gathered in full first: 有限公司, 103 ms; joined, FTS5 hands
    them over one at a time and the count stops at its cap, 0.2 to 1.4 ms), and on PostgreSQL the count's execution
    options or None (`_postgresql_count`); otherwise None."""
    terms = [terms] if isinstance(terms, str) else list(terms)
    short = [term for term in terms if len(term) < MIN_LENGTH]
    plain = _each_in_one_of(table_, columns, terms, dialect)
    if short and not pieces.covers(table_.name, columns, short):
        return plain, None
    estimated = 0
    if dialect == "postgresql":
        # estimated as matched: words with trigrams in the document, from its statistics (two ILIKEs planned against
        # 1,000 entries for "corp mail" instead of eight: 3.3 ms to 2.0, and on the same side of every threshold below
        # for 25 searches tried); a short word field by field, as the document's estimate of words that go together
        # is low there (科技 有限公司: 16,836 of 95,142, and its probe then took 220 ms)
        estimated = estimated_rows(session, select(table_.c.id).where(plain))
        if len(terms) == 1 and estimated >= SURELY_COMMON:
            return plain, _postgresql_count(session, table_, columns, terms, estimated)
        if len(terms) > 1 and estimated >= SEVERAL_WORDS_COMMON:
            return plain, {**(_postgresql_count(session, table_, columns, terms, estimated) or {}),
                           "crm_count_gathers": table_.c.id}
    # its probe is kept to the indexes; with a short word the planner weighs the pieces' index against the trigram
    # ones by the words' estimates, else one index answers (built here: a common search above has no probe)
    found = matching_ids(table_.name, columns, terms, dialect, planned=bool(short))
    # the ids themselves, up to COMMON: the page and its count then look up a few thousand keys at most, instead of
    # each asking the index again (3,000 customers of one company: 10 ms a time on PostgreSQL; two words of a name,
    # "William Alexander", 7.6 ms a time in FTS5 on SQLite). They come as one array the database builds, handed back
    # as one value: 4,669 ids as rows, then as bound values, cost 6 ms more on PostgreSQL and 2 on SQLite.
    first = found.limit(COMMON).subquery()
    key = next(iter(first.c))
    gathered = gathered_ids(key) if dialect == "postgresql" else func.json_group_array(key)
    count, ids = _gather(session, select(func.count(), gathered), dialect)
    if dialect == "sqlite":
        if count >= COMMON:  # the count joins FTS5's matches
            return plain, found
        listed = func.json_each(bindparam(None, ids, type_=Unicode)).table_valued("value")
        return table_.c.id.in_(select(listed.c.value)), None
    if count < COMMON:
        return among(table_.c.id, ids), None
    # as many rows as were gathered, at least: the estimate was low
    return plain, _postgresql_count(session, table_, columns, terms, max(estimated, count), among(table_.c.id, ids))


def gathered_ids(key):
    """PostgreSQL: the values of `key` in the rows selected, as one array's text ("{1,2,3}") for `among`."""
    return func.coalesce(cast(func.array_agg(key), Text), "{}")


def among(key, ids: str):
    """PostgreSQL: `key` is one of `ids` (`gathered_ids`), written into the statement, not bound: the planner then
    knows the array (a bound text cast to integer[] is opaque to it, and a search sorted by name walked the whole name
    index: 680 ms); bound as a list of integers, psycopg converts each, 1.7 ms a statement for 4,669."""
    return key == any_(cast(bindparam(None, ids, type_=Text, literal_execute=True), ARRAY(Integer)))


def _gather(session, probe, dialect: str):
    """The probe's count and ids. PostgreSQL is kept to its bitmap scans of the trigram indexes for it: a plan made for
    the rows the words' statistics promise reads the table, or the primary key, until it has COMMON of them, and found
    none of "corp mail" (40,000 customers expected) in 1.2 s, where the indexes answer in 30 ms."""
    if dialect != "postgresql":
        return session.execute(probe).one()
    session.execute(text("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off"))
    try:
        return session.execute(probe).one()
    finally:
        session.execute(text("RESET enable_seqscan; RESET enable_indexscan"))


def _postgresql_count(session, table_, columns, terms, estimated: float, gathered=None) -> dict | None:
    """How the list counts a common search on PostgreSQL, as execution options of its count (`CappedCountQuery`):
    first among the ids a probe `gathered`, all of them matches, which answer a total over the cap at once; and, for
    words the trigram indexes hold in under INDEX_COUNT_SHARE of the rows, through those indexes, by the search's
    condition with its patterns out of the planner's sight (`contains`). None: the planner's own way (a word in a
    third of the rows is counted at once over them)."""
    options = {} if gathered is None else {"crm_count_first_among": gathered}
    if all(len(term) >= MIN_LENGTH for term in terms) \
            and estimated < INDEX_COUNT_SHARE * estimated_rows(session, select(table_.c.id)):
        options["crm_count_through_index"] = _each_in_one_of(table_, columns, terms, "postgresql", planned=False)
    return options or None


def estimated_rows(session, statement) -> float:
    """PostgreSQL's estimate of how many rows a select returns: its plan, from the statistics, no row read."""
    compiled = statement.compile(dialect=session.get_bind().dialect)
    plan = session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
    return plan[0]["Plan"]["Plan Rows"]


def catalogue(value_column, limit: int):
    """The column's distinct values, at most `limit`, found by one index seek each (a "loose index scan": neither
    SQLite nor PostgreSQL skips through an index for DISTINCT), so the cost follows the values, not the rows."""
    first = select(func.min(value_column).label("value")).cte(recursive=True)
    following = select(select(func.min(value_column)).where(value_column > first.c.value).scalar_subquery())
    walk = first.union_all(following.where(first.c.value.is_not(None)))
    return select(walk.c.value).where(walk.c.value.is_not(None)).limit(limit)


def catalogued_contains(session, value_column, term: str):
    """`value_column` contains `term` (ignoring case). With few distinct values, the matching ones are looked up first
    and written into the statement as constants: the planner then knows from its statistics how common they are (a
    subquery there was estimated at a tenth of the table, and a search by a customer's mobile walked all ten million
    purchases), and no match at all is None: no condition. With many values, the plain match over the rows."""
    pattern = f"%{escape_like(term)}%"
    values = catalogue(value_column, CATALOGUE_LIMIT + 1).subquery()
    listed = session.execute(select(values.c.value, values.c.value.ilike(pattern, escape="\\"))).all()
    if len(listed) > CATALOGUE_LIMIT:
        return value_column.ilike(pattern, escape="\\")
    matching = [value for value, matches in listed if matches]
    if not matching:
        return None  # no value contains it: nothing to ask the rows
    return value_column.in_(bindparam(None, matching, expanding=True, literal_execute=True))


def _sqlite_ddl(table_name: str, columns) -> list[str]:
    fts, names = _fts(table_name), ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    remove = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    add = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({names}, content='{table_name}', content_rowid='id', "
        "tokenize='trigram')",
        *fts5.trigger_ddl(fts, table_name, names, add, remove),
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def create(conn, indexed: dict = INDEXED) -> None:
    """Build the search indexes from the rows there are (idempotent); the migration and bulk loads call it."""
    for table_name, columns in indexed.items():
        if conn.dialect.name == "sqlite":
            for statement in _sqlite_ddl(table_name, columns):
                conn.exec_driver_sql(statement)
        elif conn.dialect.name == "postgresql":
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            for name in columns:
                conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {_gin(table_name, name)} "
                                     f"ON {table_name} USING gin ({name} gin_trgm_ops)")


def create_documents(conn, documents: dict = DOCUMENTS) -> None:
    """PostgreSQL's trigram index of each table's document (`document`), with the finer statistics of its columns
    (idempotent); nothing on SQLite, whose FTS5 table already holds the fields together."""
    if conn.dialect.name != "postgresql":
        return
    for table_name, columns in documents.items():
        name = _gin(table_name, "document")
        expression = document(table(table_name, *(column(c) for c in columns)), columns).compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON {table_name} "
                             f"USING gin (({expression}) gin_trgm_ops)")
        conn.exec_driver_sql(f"ALTER INDEX {name} ALTER COLUMN 1 SET STATISTICS {DOCUMENT_STATISTICS}")


def drop_documents(conn, documents: dict = DOCUMENTS) -> None:
    if conn.dialect.name == "postgresql":
        for table_name in documents:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {_gin(table_name, 'document')}")


def drop(conn, indexed: dict = INDEXED) -> None:
    """Remove the search indexes: before a bulk load, which `create` follows (one build instead of a row at a time)."""
    for table_name, columns in indexed.items():
        if conn.dialect.name == "sqlite":
            fts5.drop(conn, _fts(table_name))
        elif conn.dialect.name == "postgresql":
            for name in columns:
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {_gin(table_name, name)}")


def count_indexed(conn, table_name: str = "customer") -> int:
    """Rows the SQLite search table holds (PostgreSQL's indexes always hold every row); for checks after loads."""
    if conn.dialect.name != "sqlite":
        return conn.scalar(select(func.count()).select_from(table(table_name)))
    return conn.exec_driver_sql(f"SELECT count(*) FROM {_fts(table_name)}_docsize").scalar()
