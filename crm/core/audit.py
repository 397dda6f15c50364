"""Recording changes in the audit log; services call this, views never do."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crm.core import versioning
from crm.core.models import AuditEntry
from crm.extensions import db


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields whose value changed, as {field: [old, new]} in JSON-safe form."""
    # Keys of both sides: a deletion (new == {}) keeps the values it removed.
    return {
        key: [_plain(old.get(key)), _plain(new.get(key))]
        for key in dict.fromkeys([*old, *new])
        if _plain(old.get(key)) != _plain(new.get(key))
    }


def record(
    user,
    action: str,
    obj,
    *,
    root=None,
    changes: dict | None = None,
    summary: str = "",
) -> AuditEntry | None:
    """Add an audit entry for `obj` (flushed ids required); nothing for an empty update.
    A versioned object's change is counted here (every service change is recorded, so every
    change moves the version) and the entry keeps the version it made."""
    if action == "update" and not changes:
        return None
    root = root if root is not None else obj
    if action in ("create", "delete"):
        version = getattr(obj, "version", None) if isinstance(obj, versioning.Versioned) else None
    else:
        version = versioning.bump(obj)
    entry = AuditEntry(
        user_id=getattr(user, "id", None),
        action=action,
        object_type=obj.__tablename__,
        object_id=obj.id,
        root_type=root.__tablename__,
        root_id=root.id,
        summary=summary[:500],
        changes=changes or {},
        object_version=version,
    )
    db.session.add(entry)
    return entry
