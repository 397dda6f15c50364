"""Database-specific speed helpers: PostgreSQL's trigram extension and planner statistics."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

TRGM_MISSING = (
    "pg_trgm not available: substring search will scan; "
    "ask your DBA to run CREATE EXTENSION pg_trgm"
)


def has_pg_trgm(conn) -> bool:
    """Whether the trigram extension is installed in the connection's PostgreSQL database."""
    if conn.dialect.name != "postgresql":
        return False
    found = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first()
    return found is not None


def enable_pg_trgm(conn) -> bool:
    """Install pg_trgm when it is missing (PostgreSQL only) and say whether it is there.

    Trigram (GIN) indexes serve `LIKE '%word%'`, which a B-tree cannot: without them the
    partner search reads every partner. Creating an extension needs a privilege a hosted
    database may not grant; then the search still works, by a scan, and the log says why."""
    if conn.dialect.name != "postgresql":
        return False
    if has_pg_trgm(conn):
        return True
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except Exception as exc:  # no privilege, or the contrib package is not installed
        log.warning("%s (%s)", TRGM_MISSING, str(exc).splitlines()[0])
        return False
    return True


# Rows a bulk write must reach before the planner's statistics are refreshed: below this
# autovacuum's own threshold (50 rows + 10 % of the table) catches up soon enough.
ANALYZE_AFTER_ROWS = 5000


def analyze(conn, tables=None) -> None:
    """Refresh the planner's statistics of `tables` (names or Table objects; None: every
    table) after a bulk write, on PostgreSQL; SQLite plans without statistics here.

    Autovacuum gets there eventually, but until it does a table that grew from nothing looks
    empty to the planner, which then picks plans (nested loops, a scan instead of the trigram
    index) that are slow at the new size."""
    if conn.dialect.name != "postgresql":
        return
    if tables is None:
        conn.execute(text("ANALYZE"))
        return
    for table in tables:
        name = getattr(table, "name", table)
        conn.execute(text(f'ANALYZE "{name}"'))


def analyze_after_bulk_write(conn, rows: int) -> None:
    """`analyze` every table when a write of `rows` rows was big enough to change plans."""
    if rows >= ANALYZE_AFTER_ROWS:
        analyze(conn)


def is_trigram_index(index) -> bool:
    """An index built with a pg_trgm operator class: made only where the extension is."""
    ops = index.dialect_options["postgresql"].get("ops") or {}
    return any(str(op).endswith("_trgm_ops") for op in ops.values())


def include_in_schema_check(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's `include_object`: leave a model's trigram index out of the schema comparison
    (`flask db migrate`, the migration test) where the database cannot have it (SQLite, a
    PostgreSQL without pg_trgm), as create_all and migration 0008 leave it out there."""
    if type_ != "index" or reflected or not is_trigram_index(obj):
        return True
    from crm.extensions import db

    with db.engine.connect() as conn:
        return has_pg_trgm(conn)


def insert_rows(table, rows: list[dict]) -> None:
    """Insert new rows (every dict with the same keys) in one go: PostgreSQL's COPY, elsewhere
    one prepared INSERT run for all of them (executemany). Defaults of the model are not
    applied: give every column that needs a value. A taken unique key fails the statement.

    Speed: COPY streams the rows without a statement per row or parameters to bind; on
    PostgreSQL it stores a batch of sales lines several times faster than INSERT … VALUES."""
    if not rows:
        return
    from crm.extensions import db

    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    except dbapi.Error as exc:
        # As SQLAlchemy would raise it (an IntegrityError for a taken key), so that callers
        # telling a key race from other failures (crm.core.keys.is_key_race) see the same.
        raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc
