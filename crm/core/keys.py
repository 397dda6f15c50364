"""Natural keys held by unique constraints, for writers that race.

Two requests (or imports) may insert the same key at the same moment; the database lets one
win. Here: reference rows "created on first use" are inserted with INSERT … ON CONFLICT DO
NOTHING and then read, so the loser takes the winner's row instead of failing; and the loser's
error of a plain INSERT is recognised, so the caller can answer 409 or a field error instead of
a 500.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from crm.core.errors import DomainError
from crm.extensions import db


class KeyTaken(Exception):
    """A row meant to be new has a key that is stored already (or was, a moment ago, by a
    concurrent writer)."""


def dialect_insert(table):
    """INSERT of the session's database dialect (it has `on_conflict_do_*` on both)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def id_for_key(model, key: dict, **fields) -> int:
    """The id of the `model` row with this key, inserted (with `fields`) when there is none.
    A writer inserting the same key at the same moment does not double it: on PostgreSQL the
    INSERT waits for the other transaction and does nothing once it commits; then both read
    the one row."""
    stmt = select(model.id).filter_by(**key)
    found = db.session.execute(stmt).scalar_one_or_none()
    if found is not None:
        return found
    insert = dialect_insert(model.__table__).values(**key, **fields)
    db.session.execute(insert.on_conflict_do_nothing(index_elements=list(key)))
    return db.session.execute(stmt).scalar_one()


def is_key_race(exc: BaseException) -> bool:
    """Whether a database error is a unique key taken by another writer (or a deadlock
    between two writers): the operation may be retried or refused as a conflict."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    # PostgreSQL: unique_violation, deadlock_detected, serialization_failure.
    if getattr(orig, "sqlstate", None) in ("23505", "40P01", "40001"):
        return True
    return "UNIQUE constraint failed" in str(orig)


def flush_or_refuse(field: str, message: str) -> None:
    """Flush the session; a key that a concurrent writer took after the caller checked it
    becomes a DomainError on `field` with `message`, not a 500. The session is rolled back (on
    PostgreSQL the failed statement has ended the transaction anyway)."""
    try:
        db.session.flush()
    except DBAPIError as exc:
        if not is_key_race(exc):
            raise
        db.session.rollback()
        raise DomainError(message, {field: [message]}) from exc
