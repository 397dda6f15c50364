"""Helpers shared by every domain's forms."""

from __future__ import annotations

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
                    "The form is damaged: reload the page and make your changes again."
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
    placed = False
    for name, messages in exc.field_errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)
            placed = True
    if not placed or not exc.field_errors:
        form.form_errors.append(exc.message)
