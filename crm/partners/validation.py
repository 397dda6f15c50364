"""Rules for partner and contact input, shared by forms, inline edits, imports and the API."""

from __future__ import annotations

import re
from datetime import date

import phonenumbers

from crm.core.errors import FieldErrors
from crm.core.params import BadValue, OutOfRange, parse_date
from crm.core.text import checked_email
from crm.partners.models import CHANNELS, CONTACT_KINDS, PARTNER_KINDS, PARTNER_ROLES

LIMITS = {
    "name": 255,
    "code": 64,
    "city": 120,
    "inn": 20,
    "notes": 10_000,
    "best_time_to_call": 100,
    "position": 200,
    "label": 100,
    "value": 500,
    "tag": 64,
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(
    errors: FieldErrors, field: str, value, *, required=False, label=None, multiline=False
) -> str:
    """Trimmed text within its length limit and free of control characters."""
    label = label or field.replace("_", " ").capitalize()
    text = (
        (value or "").strip() if isinstance(value, str) else ("" if value is None else str(value))
    )
    if not multiline:
        text = text.replace("\t", " ")  # a pasted tab is a space in a one-line field
    if required and not text:
        errors.add(field, f"{label} is required.")
    limit = LIMITS.get(field)
    if limit and len(text) > limit:
        errors.add(field, f"{label} is too long: {len(text)} characters, at most {limit}.")
    probe = text.replace("\n", "").replace("\r", "").replace("\t", "") if multiline else text
    if _CONTROL.search(probe) or (not multiline and ("\n" in text or "\r" in text)):
        errors.add(field, f"{label} contains control characters or line breaks.")
    return text


def clean_email(errors: FieldErrors, field: str, value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return checked_email(value)
    except ValueError as exc:
        errors.add(field, str(exc))
        return value


def clean_phone(errors: FieldErrors, field: str, value: str, region: str) -> str:
    """The phone as typed (trimmed); it must be a possible number for `region` or international."""
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > 40:
        errors.add(field, "A phone number has at most 40 characters.")
        return value
    try:
        parsed = phonenumbers.parse(value, region)
        if phonenumbers.is_possible_number(parsed):
            return value
    except phonenumbers.NumberParseException:
        pass
    errors.add(
        field, f"{value!r} is not a phone number (use +country code, e.g. +7 495 123-45-67)."
    )
    return value


def clean_inn(errors: FieldErrors, value: str) -> str:
    value = (value or "").strip().replace(" ", "")
    if value and (not (value.isascii() and value.isdigit()) or not 4 <= len(value) <= 20):
        errors.add("inn", "A tax id is 4 to 20 digits (10 or 12 for a Russian INN).")
    return value


def clean_choice(errors: FieldErrors, field: str, value: str, choices, *, allow_empty=False) -> str:
    value = (value or "").strip()
    if (value or not allow_empty) and value not in choices:
        errors.add(field, f"Choose one of: {', '.join(choices)}.")
    return value


def clean_roles(errors: FieldErrors, roles) -> list[str]:
    roles = [r.strip() for r in roles if r and r.strip()]
    bad = [r for r in roles if r not in PARTNER_ROLES]
    if bad:
        errors.add("roles", f"Unknown role(s): {', '.join(bad)}.")
    return [r for r in PARTNER_ROLES if r in roles] or ["client"]


def clean_tags(errors: FieldErrors, raw) -> list[str]:
    """Tags from a comma-separated string or a list; duplicates dropped, case kept."""
    items = raw.split(",") if isinstance(raw, str) else list(raw or [])
    tags, seen = [], set()
    for item in items:
        tag = (item or "").strip()
        if not tag:
            continue
        if len(tag) > LIMITS["tag"]:
            errors.add("tags", f"A tag has at most {LIMITS['tag']} characters.")
            continue
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tags


def clean_contact_value(errors: FieldErrors, kind: str, value: str, region: str) -> str:
    if kind == "email":
        return clean_email(errors, "value", value)
    if kind == "phone":
        return clean_phone(errors, "value", value, region)
    return clean_text(errors, "value", value, required=True, label="Value")


def clean_date(errors: FieldErrors, field: str, value, *, label: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return parse_date(value, label=label)
    except OutOfRange as exc:
        errors.add(field, f"{exc}.")
    except BadValue:
        errors.add(field, f"{label} must be a date like 1985-04-23.")
    return None


__all__ = [
    "CHANNELS",
    "CONTACT_KINDS",
    "PARTNER_KINDS",
    "clean_choice",
    "clean_contact_value",
    "clean_date",
    "clean_email",
    "clean_inn",
    "clean_phone",
    "clean_roles",
    "clean_tags",
    "clean_text",
]
