"""Writing composed messages as queued Message rows: the one place mailings and event
notifications store what the workers then send.

Idempotent: a message that exists already (the same address in the same mailing, or the same
address for the same event) is not written again, whoever got there first — a job run twice,
a mailing resumed after its worker died, two producers racing. Uses the database's own
"insert, or nothing on conflict" (SQLite and PostgreSQL alike), so a batch never fails half-way
on a duplicate."""

from __future__ import annotations

from collections.abc import Sequence

from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.messaging.compose import Composed
from crm.messaging.models import Message


def _insert_ignoring_duplicates():
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(Message).on_conflict_do_nothing()
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(Message).on_conflict_do_nothing()
    # The app supports SQLite and PostgreSQL (crm/config.py); another database is a setup error.
    raise RuntimeError(f"messages cannot be stored on {dialect}")


def store(
    composed: Sequence[Composed],
    channel: str,
    *,
    mailing_id: int | None = None,
    group_id: int | None = None,
    kind: str = "",
    event_keys: Sequence[str] | None = None,
) -> int:
    """Write the messages (queued; failed with the reason when their template could not be
    rendered); returns how many were new. `event_keys`: one per message, for notifications."""
    if not composed:
        return 0
    now = utcnow()
    rows = []
    for n, c in enumerate(composed):
        r = c.recipient
        rows.append(
            {
                "mailing_id": mailing_id,
                "kind": kind,
                "event_key": event_keys[n] if event_keys is not None else None,
                "group_id": group_id,
                "channel": channel,
                "address": r.address[:320],
                "address_norm": r.address_norm[:320],
                "partner_id": r.partner_id,
                "contact_person_id": r.contact_person_id,
                "language": c.language,
                "subject": c.subject[:500],
                "body_html": c.html,
                "body_text": c.text,
                "rfc_message_id": c.rfc_message_id,
                "key": c.key,
                "state": "failed" if c.error else "queued",
                "error": c.error[:500],
                "attempts": 0,
                "open_count": 0,
                "click_count": 0,
                "claimed_by": "",
                "provider_id": "",
                "created_at": now,
            }
        )
    # Core, not the ORM's bulk insert: RETURNING the ids actually written counts the new ones
    # (a duplicate returns nothing), the same on both databases.
    stmt = _insert_ignoring_duplicates().returning(Message.id)
    return len(db.session.connection().execute(stmt, rows).all())
