"""Optimistic locking of records people edit together: a version column checked on save.

A versioned model counts its changes in `version`. A form (or an API call) carries the version
it was opened at; a save from an older version is refused with what changed since, read from
the audit log (each entry records the version its change made), and never applied silently.

`version` is also the mapper's `version_id_col`, so every UPDATE of the row says
`WHERE version = :old`: two saves that both pass the check cannot both win — the loser's flush
raises StaleDataError, which `saving()` turns into the same refusal. The version is counted
explicitly (no generator): `audit.record` bumps it for every recorded change, since every
service change is recorded there, and bulk writers add `bump_values()` to their UPDATE.

A later domain's model gets all of this by inheriting `Versioned` and calling its service
body inside `with versioning.saving(obj, submitted_version):`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Integer, select
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from crm.core.errors import DomainError
from crm.extensions import db

# Tables of versioned models: bulk writers (crm.core.links) bump their rows too.
VERSIONED_TABLES: set[str] = set()
# A long text in the conflict message is cut here.
SHOWN_CHARS = 200


class Versioned:
    """Mixin: an integer `version` counted on every change and checked on every UPDATE."""

    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        name = cls.__dict__.get("__tablename__")
        if name:
            VERSIONED_TABLES.add(name)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        # No generator: the version moves when a change is recorded, not on every flush (a
        # flush of derived columns alone is not a change someone could lose).
        return {"version_id_col": cls.__table__.c.version, "version_id_generator": False}


def bump(obj) -> int | None:
    """Count one change of `obj` (the new version); None for an unversioned object."""
    if not isinstance(obj, Versioned):
        return None
    obj.version = (obj.version or 1) + 1
    return obj.version


def bump_values(table) -> dict:
    """Extra SET values for a bulk UPDATE of `table`: its version moves on too."""
    if table.name in VERSIONED_TABLES:
        return {"version": table.c.version + 1}
    return {}


# --- the refusal --------------------------------------------------------------------------


@dataclass
class Change:
    """One recorded change since the form was opened: who, when, which fields old → new."""

    at: datetime
    user: str
    summary: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    # The same changes as recorded, {field: (old, new)}: a form puts the new value into a
    # field its user left as it was.
    values: dict[str, tuple[Any, Any]] = field(default_factory=dict)


class StaleRecord(DomainError):
    """The record changed after the form (or API read) the save comes from."""

    def __init__(self, what: str, submitted: int, current: int, changes: list[Change]):
        super().__init__(
            _(
                "Someone else changed this %(what)s after you opened it, so your changes are "
                "not saved. Their changes are listed below. Fields you had not touched now show "
                "their values, and what you typed is kept: check it and save again to keep "
                "yours.",
                what=what,
            )
        )
        self.what = what
        self.submitted_version = submitted
        self.current_version = current
        self.changes = changes

    def as_json(self) -> dict:
        """The conflict as the API answers it."""
        return {
            "version": self.current_version,
            "your_version": self.submitted_version,
            "changes": [
                {
                    "at": c.at.isoformat(timespec="seconds") + "Z",
                    "by": c.user,
                    "summary": c.summary,
                    "fields": {name: [old, new] for name, old, new in c.fields},
                }
                for c in self.changes
            ],
        }


def _shown(value: Any) -> str:
    if value in (None, "", []):
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    text = str(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _what(obj) -> str:
    return getattr(obj, "version_label", None) or obj.__tablename__.replace("_", " ")


def changes_since(obj, version: int) -> list[Change]:
    """The recorded changes of `obj` after `version`, oldest first."""
    from crm.core.models import AuditEntry

    # The user table by name, as AuditEntry's foreign key names it: core imports no domain.
    users = db.metadata.tables["user"]
    rows = db.session.execute(
        select(AuditEntry, users.c.name, users.c.email)
        .outerjoin(users, users.c.id == AuditEntry.user_id)
        .where(
            AuditEntry.object_type == obj.__tablename__,
            AuditEntry.object_id == obj.id,
            AuditEntry.object_version > version,
        )
        .order_by(AuditEntry.object_version, AuditEntry.id)
    ).all()
    found = []
    for entry, name, email in rows:
        pairs = {
            key: (pair[0], pair[1])
            for key, pair in (entry.changes or {}).items()
            if isinstance(pair, list) and len(pair) == 2
        }
        fields = [
            (key.replace("_", " "), _shown(old), _shown(new)) for key, (old, new) in pairs.items()
        ]
        who = name or email or _("someone")  # User.display_name, read without loading users
        found.append(Change(entry.at, who, entry.summary or entry.action, fields, pairs))
    return found


def stale(obj, submitted: int) -> StaleRecord:
    """The refusal of a save from `submitted` when `obj` is at a later version."""
    return StaleRecord(_what(obj), submitted, obj.version, changes_since(obj, submitted))


def check(obj, submitted: int | None) -> None:
    """Refuse (StaleRecord) a save from another version than `obj`'s; None: no check
    (a client that does not send a version saves as before)."""
    if submitted is not None and submitted != obj.version:
        raise stale(obj, submitted)


@contextmanager
def saving(obj, submitted: int | None) -> Iterator[None]:
    """Check the version, run the change, and flush it; a concurrent save that won the race
    (StaleDataError at the flush) is refused the same way as a stale form."""
    model, key = type(obj), obj.id
    base = obj.version if submitted is None else submitted
    check(obj, submitted)
    try:
        yield
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        current = db.session.get(model, key)
        if current is None:
            raise DomainError(
                _(
                    "Someone else deleted this %(what)s while you were saving it.",
                    what=_what(obj),
                )
            ) from None
        raise stale(current, base) from None
