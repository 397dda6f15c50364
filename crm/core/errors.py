"""Errors a user can cause; views turn them into a message next to the field."""

from __future__ import annotations

from flask_babel import gettext as _


class DomainError(Exception):
    """A rule was broken by user input; `field_errors` maps a field name to its messages."""

    def __init__(self, message: str, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class PermissionDenied(DomainError):
    """The acting user may not do this to this object."""


class FieldErrors:
    """Collects every field's errors of one input, so the user sees them all at once;
    `raise_if_any` turns them into one DomainError."""

    def __init__(self):
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def raise_if_any(self, message: str | None = None) -> None:
        if self.fields:
            raise DomainError(message or _("Please correct the marked fields."), self.fields)
