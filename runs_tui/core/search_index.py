"""The search index: each run's searched text in one row, kept by triggers, with an index
over it (SQLite FTS5 trigram; PostgreSQL pg_trgm GIN).

`runsearch` holds per run its name, user, tags and parameter values, each folded as search
folds (ASCII letters only) and joined by SEP. Triggers on `run`, `runtag` and `runparam`
rewrite a run's row whenever one of those changes, so every writer (the store, the agent,
a script with plain SQL) keeps it true. A needle without SEP is a substring of that row
exactly when it is a substring of one of the run's texts, so the index answers a search
exactly, with no second check (textsql.search_clause).

The trigram index finds needles of 3 characters or more. Shorter ones scan `runsearch`,
one narrow row per run, instead of every tag and parameter. Without FTS5 (a Python built
without it) or pg_trgm (an extension this role may not create) the table is kept all the
same and scanned: slower, never wrong.

`install()` is what the 0002 migration runs; `uninstall()` is its downgrade. A bulk load
of many runs is faster between uninstall() and install() (which fills the index again)
than through the triggers: 11 s against 69 s for bench/table.py's 100,000 runs.
"""

from __future__ import annotations

import enum
import logging
import weakref
from typing import TYPE_CHECKING

from sqlalchemy import Column, Connection, Integer, MetaData, Table, Text, column, table, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from runs_tui.core.db import Store

log = logging.getLogger(__name__)

SEP = "\x1f"  # between a run's texts; a needle holding it is searched without the index
TRIGRAM = 3  # the shortest needle the trigram indexes can find

SEARCH = Table(
    "runsearch",
    MetaData(),  # not SQLModel's: the 0002 migration creates it, with its triggers
    Column("run_id", Integer, primary_key=True),
    Column("text", Text, nullable=False),
)
FTS = table("runsearch_fts", column("rowid", Integer), column("runsearch_fts", Text))


class Kind(enum.Enum):
    """What a database has for search."""

    NONE = "none"  # no runsearch table (not migrated): search scans tags and parameters
    SCAN = "scan"  # runsearch without an index over it
    FTS = "fts"  # SQLite: runsearch_fts, FTS5 trigram
    TRGM = "trgm"  # PostgreSQL: a pg_trgm GIN index on runsearch.text


_kinds: weakref.WeakKeyDictionary[Store, Kind] = weakref.WeakKeyDictionary()


def kind(store: Store) -> Kind:
    """What the store's database has, looked up once per Store (migrations run before a
    Store is handed out, so it does not change under it)."""
    found = _kinds.get(store)
    if found is None:
        with store.engine.connect() as connection:
            found = _kind_of(connection)
        _kinds[store] = found
    return found


def _kind_of(connection: Connection) -> Kind:
    if connection.dialect.name == "sqlite":
        names = set(
            connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE name IN ('runsearch', 'runsearch_fts')"
            ).scalars()
        )
        if "runsearch" not in names:
            return Kind.NONE
        return Kind.FTS if "runsearch_fts" in names else Kind.SCAN
    found = connection.execute(
        text(
            "SELECT to_regclass('runsearch') IS NOT NULL, "
            "to_regclass('ix_runsearch_trgm') IS NOT NULL"
        )
    ).one()
    return Kind.NONE if not found[0] else Kind.TRGM if found[1] else Kind.SCAN


# ---------------------------------------------------------------- DDL

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _text_of(dialect: str, run: str) -> str:
    """SQL for the searched text of the run whose id is `run`, from a `run r` row."""
    if dialect == "sqlite":
        sep, agg = "char(31)", "group_concat({0}, char(31))"

        def fold(x: str) -> str:
            return f"lower({x})"
    else:
        sep, agg = "chr(31)", "string_agg({0}, chr(31))"

        def fold(x: str) -> str:  # lower() would fold "É" too
            return f"translate({x}, '{_UPPER}', '{_UPPER.lower()}')"

    user = 'r."user"'
    tags = f"(SELECT {sep} || {agg.format(fold('t.tag'))} FROM runtag t WHERE t.run_id = {run})"
    params = (
        f"(SELECT {sep} || {agg.format(fold('p.value'))} FROM runparam p WHERE p.run_id = {run})"
    )
    return (
        f"{fold('r.name')} || {sep} || {fold(user)}"
        f" || coalesce({tags}, '') || coalesce({params}, '')"
    )


def _sqlite_ddl() -> list[str]:
    row = f"SELECT r.id, {_text_of('sqlite', 'r.id')} FROM run r"

    def refresh(rid: str) -> str:
        return (
            f"UPDATE runsearch SET text = (SELECT {_text_of('sqlite', 'r.id')} FROM run r "
            f"WHERE r.id = runsearch.run_id) WHERE run_id = {rid};"
        )

    return [
        "CREATE TABLE runsearch (run_id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
        # A delete then an insert, never INSERT OR REPLACE: REPLACE deletes without firing
        # the trigger that takes the old row out of the FTS index.
        "CREATE TRIGGER runsearch_run_insert AFTER INSERT ON run BEGIN "
        "DELETE FROM runsearch WHERE run_id = new.id; "
        f"INSERT INTO runsearch (run_id, text) {row} WHERE r.id = new.id; END",
        'CREATE TRIGGER runsearch_run_update AFTER UPDATE OF id, name, "user" ON run BEGIN '
        "DELETE FROM runsearch WHERE run_id = old.id; "
        f"INSERT INTO runsearch (run_id, text) {row} WHERE r.id = new.id; END",
        "CREATE TRIGGER runsearch_run_delete AFTER DELETE ON run BEGIN "
        "DELETE FROM runsearch WHERE run_id = old.id; END",
        f"CREATE TRIGGER runsearch_tag_insert AFTER INSERT ON runtag BEGIN "
        f"{refresh('new.run_id')} END",
        f"CREATE TRIGGER runsearch_tag_delete AFTER DELETE ON runtag BEGIN "
        f"{refresh('old.run_id')} END",
        f"CREATE TRIGGER runsearch_tag_update AFTER UPDATE ON runtag BEGIN "
        f"{refresh('old.run_id')} {refresh('new.run_id')} END",
        f"CREATE TRIGGER runsearch_param_insert AFTER INSERT ON runparam BEGIN "
        f"{refresh('new.run_id')} END",
        f"CREATE TRIGGER runsearch_param_delete AFTER DELETE ON runparam BEGIN "
        f"{refresh('old.run_id')} END",
        f"CREATE TRIGGER runsearch_param_update AFTER UPDATE OF run_id, value ON runparam "
        f"BEGIN {refresh('old.run_id')} {refresh('new.run_id')} END",
        f"INSERT INTO runsearch (run_id, text) {row}",
    ]


# The external-content FTS5 table and the triggers that keep it in step with runsearch.
_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE runsearch_fts USING fts5(text, content='runsearch', "
    "content_rowid='run_id', tokenize='trigram case_sensitive 1')",
    "CREATE TRIGGER runsearch_fts_insert AFTER INSERT ON runsearch BEGIN "
    "INSERT INTO runsearch_fts (rowid, text) VALUES (new.run_id, new.text); END",
    "CREATE TRIGGER runsearch_fts_delete AFTER DELETE ON runsearch BEGIN "
    "INSERT INTO runsearch_fts (runsearch_fts, rowid, text) "
    "VALUES ('delete', old.run_id, old.text); END",
    "CREATE TRIGGER runsearch_fts_update AFTER UPDATE ON runsearch BEGIN "
    "INSERT INTO runsearch_fts (runsearch_fts, rowid, text) "
    "VALUES ('delete', old.run_id, old.text); "
    "INSERT INTO runsearch_fts (rowid, text) VALUES (new.run_id, new.text); END",
    "INSERT INTO runsearch_fts (runsearch_fts) VALUES ('rebuild')",
]

_SQLITE_TRIGGERS = (
    "runsearch_run_insert",
    "runsearch_run_update",
    "runsearch_run_delete",
    "runsearch_tag_insert",
    "runsearch_tag_delete",
    "runsearch_tag_update",
    "runsearch_param_insert",
    "runsearch_param_delete",
    "runsearch_param_update",
)


def _pg_ddl() -> list[str]:
    def refresh(rid: str) -> str:
        # Lock the row first: the UPDATE after it then reads with a snapshot taken once a
        # concurrent tagger of the same run has committed, and misses none of its tags.
        return (
            f"PERFORM 1 FROM runsearch WHERE run_id = {rid} FOR UPDATE; "
            f"UPDATE runsearch SET text = (SELECT {_text_of('pg', 'r.id')} FROM run r "
            f"WHERE r.id = {rid}) WHERE run_id = {rid};"
        )

    return [
        "CREATE TABLE runsearch (run_id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
        "CREATE FUNCTION runsearch_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_TABLE_NAME = 'run' THEN "
        "  IF TG_OP <> 'INSERT' THEN DELETE FROM runsearch WHERE run_id = OLD.id; END IF; "
        "  IF TG_OP <> 'DELETE' THEN INSERT INTO runsearch (run_id, text) "
        f"   SELECT r.id, {_text_of('pg', 'r.id')} FROM run r WHERE r.id = NEW.id; END IF; "
        "ELSE "
        f"  IF TG_OP <> 'INSERT' THEN {refresh('OLD.run_id')} END IF; "
        f"  IF TG_OP <> 'DELETE' THEN {refresh('NEW.run_id')} END IF; "
        "END IF; RETURN NULL; END $$",
        'CREATE TRIGGER runsearch_run AFTER INSERT OR DELETE OR UPDATE OF id, name, "user" '
        "ON run FOR EACH ROW EXECUTE FUNCTION runsearch_sync()",
        "CREATE TRIGGER runsearch_tag AFTER INSERT OR DELETE OR UPDATE "
        "ON runtag FOR EACH ROW EXECUTE FUNCTION runsearch_sync()",
        "CREATE TRIGGER runsearch_param AFTER INSERT OR DELETE OR UPDATE OF run_id, value "
        "ON runparam FOR EACH ROW EXECUTE FUNCTION runsearch_sync()",
        f"INSERT INTO runsearch (run_id, text) SELECT r.id, {_text_of('pg', 'r.id')} FROM run r",
        "ANALYZE runsearch",
    ]


def install(connection: Connection) -> Kind:
    """Create the search table, its triggers and its index on `connection` (inside the
    caller's transaction), filled from the runs already there. Returns what was made:
    FTS / TRGM, or SCAN when this SQLite has no FTS5 or this role may not create pg_trgm
    (logged: search then works, by scanning)."""
    if connection.dialect.name == "sqlite":
        for statement in _sqlite_ddl():
            connection.exec_driver_sql(statement)
        try:
            with connection.begin_nested():
                for statement in _SQLITE_FTS:
                    connection.exec_driver_sql(statement)
        except DBAPIError as exc:
            log.warning("search index: no FTS5 in this SQLite (%s); search scans", exc.orig)
            return Kind.SCAN
        return Kind.FTS
    for statement in _pg_ddl():
        connection.exec_driver_sql(statement)
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as exc:
        log.warning("search index: cannot create pg_trgm (%s); search scans", exc.orig)
        return Kind.SCAN
    connection.exec_driver_sql(
        "CREATE INDEX ix_runsearch_trgm ON runsearch USING gin (text gin_trgm_ops)"
    )
    return Kind.TRGM


def uninstall(connection: Connection) -> None:
    """Drop what install() made (pg_trgm stays: other things may use it)."""
    if connection.dialect.name == "sqlite":
        for trigger in _SQLITE_TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        connection.exec_driver_sql("DROP TABLE IF EXISTS runsearch_fts")
        connection.exec_driver_sql("DROP TABLE IF EXISTS runsearch")
        return
    for name, on in (("run", "run"), ("tag", "runtag"), ("param", "runparam")):
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS runsearch_{name} ON {on}")
    connection.exec_driver_sql("DROP FUNCTION IF EXISTS runsearch_sync()")
    connection.exec_driver_sql("DROP TABLE IF EXISTS runsearch")
