"""Writes and reads of the simple deal classifiers the admins keep, a name and an active flag
each: participant roles (ЛПР, influencer, user…) and loss reasons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from crm.core import audit
from crm.core.errors import FieldErrors
from crm.core.text import fold
from crm.deals.classifiers.names import (
    clean_name,
    ensure_admin,
    same_name,
    taken_meanwhile,
    unique,
)
from crm.deals.models import DealRole, LossReason
from crm.extensions import db


@dataclass(frozen=True)
class NamedClassifier:
    """One list of names with an active flag (`model`: DealRole or LossReason): its writes,
    which only admins make and audit, and its rows for the settings page. A deactivated row is
    not offered for new choices; the deals that have it keep it (and show its new name when it
    is renamed)."""

    model: type
    duplicate: Callable[[str], str]  # the message for a name another row already has

    def create(self, actor, name) -> Any:
        """A new active row named `name`."""
        ensure_admin(actor)
        errors = FieldErrors()
        name = clean_name(name, errors)
        if name and (other := same_name(self.model, name)):
            errors.add("name", self.duplicate(other))
        errors.raise_if_any()
        row = self.model(name=name, is_active=True)
        with unique("name", taken_meanwhile()):
            db.session.add(row)
        audit.record(
            actor,
            "create",
            row,
            changes=audit.diff({}, {"name": row.name}),
            summary=f"{self.model.__tablename__} {row.name}"[:500],
        )
        return row

    def rename(self, actor, row, name) -> Any:
        """Rename a row (the deals that have it show the new name)."""
        ensure_admin(actor)
        errors = FieldErrors()
        name = clean_name(name, errors)
        if name and (other := same_name(self.model, name, exclude_id=row.id)):
            errors.add("name", self.duplicate(other))
        errors.raise_if_any()
        before = row.name
        with unique("name", taken_meanwhile()):
            row.name = name
        audit.record(actor, "update", row, changes=audit.diff({"name": before}, {"name": name}))
        return row

    def set_active(self, actor, row, active: bool) -> Any:
        """Stop offering a row for new choices (False) or offer it again (True)."""
        ensure_admin(actor)
        before = row.is_active
        row.is_active = bool(active)
        db.session.flush()
        audit.record(
            actor,
            "update",
            row,
            changes=audit.diff({"is_active": before}, {"is_active": row.is_active}),
        )
        return row

    def rows(self) -> list:
        """The rows, active first, by name."""
        rows = db.session.execute(select(self.model)).scalars().all()
        return sorted(rows, key=lambda r: (not r.is_active, fold(r.name)))


ROLES = NamedClassifier(
    DealRole, lambda name: _("A participant role named «%(name)s» already exists.", name=name)
)
LOSS_REASONS = NamedClassifier(
    LossReason, lambda name: _("A loss reason named «%(name)s» already exists.", name=name)
)

# Each write under its own name as well.
create_role, rename_role, set_role_active = ROLES.create, ROLES.rename, ROLES.set_active
create_loss_reason = LOSS_REASONS.create
rename_loss_reason = LOSS_REASONS.rename
set_loss_reason_active = LOSS_REASONS.set_active
