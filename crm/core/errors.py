"""Errors a user can cause; views turn them into a message next to the field."""

from __future__ import annotations


class DomainError(Exception):
    """A rule was broken by user input; `field_errors` maps a field name to its messages."""

    def __init__(self, message: str, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class PermissionDenied(DomainError):
    """The acting user may not do this to this object."""
