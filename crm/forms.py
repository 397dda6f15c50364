"""Helpers shared by every domain's forms."""

from __future__ import annotations

from crm.core.errors import DomainError


def apply_errors(form, exc: DomainError) -> None:
    """Show a service's errors next to the fields they concern, the rest above the form."""
    placed = False
    for name, messages in exc.field_errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)
            placed = True
    if not placed or not exc.field_errors:
        form.form_errors.append(exc.message)
