"""Helpers shared by every domain's forms."""

from __future__ import annotations

from flask_babel import gettext as _
from wtforms import HiddenField

from crm.core.errors import DomainError
from crm.core.versioning import StaleRecord


class VersionField(HiddenField):
    """The version of the record the form was opened at (crm.core.versioning); empty: none."""

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if raw:
            # Bounded like the column: a version is a small whole number.
            if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
                raise ValueError(
                    _("The form is damaged: reload the page and make your changes again.")
                )
            self.data = int(raw)

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)


class VersionedForm:
    """Mixin of an edit form of a shared record: a hidden `version` checked on save.
    `form.hidden_tag()` renders it."""

    version = VersionField()


def submitted_version(form) -> int | None:
    field = getattr(form, "version", None)
    return field.data if field is not None else None


def apply_errors(form, exc: DomainError) -> None:
    """Show a service's errors next to the fields they concern, the rest above the form.
    A stale save shows what changed, and the form moves to the current version so that a
    deliberate second save goes through (the user's input stays as typed)."""
    if isinstance(exc, StaleRecord):
        form.conflict = exc
        if getattr(form, "version", None) is not None:
            form.version.data = exc.current_version
        take_their_values(form, exc)
    placed = False
    for name, messages in exc.field_errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)
            placed = True
    if not placed or not exc.field_errors:
        form.form_errors.append(exc.message)


def take_their_values(form, exc: StaleRecord) -> list[str]:
    """Put the other person's new value into each field this user left as it was when he
    opened the form, so that saving again does not quietly undo their change; a field both
    changed keeps this user's input. Text and yes/no fields only: those are what the audit
    log records as the form holds them (others stay as typed). Returns the fields taken."""
    opened_at: dict[str, object] = {}
    now: dict[str, object] = {}
    for change in exc.changes:
        for key, (old, new) in change.values.items():
            opened_at.setdefault(key, old)
            now[key] = new
    taken = []
    for key, new in now.items():
        field = getattr(form, key, None)
        if field is None or key == "version" or not isinstance(field.data, (str, bool)):
            continue
        kind = type(field.data)
        old = opened_at[key]
        if kind is str:
            old, new = ("" if old is None else old), ("" if new is None else new)
        if not (isinstance(old, kind) and isinstance(new, kind)) or field.data != old:
            continue
        field.data = new
        if field.raw_data:
            field.raw_data = [new] if kind is str else ([] if not new else ["y"])
        taken.append(key)
    return taken
