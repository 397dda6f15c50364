"""Rules for partner and contact input, shared by forms, inline edits, imports and the API.

Messages are in the language of whoever is served (the request's, or the importing user's
under `in_language`), so they are made when the input is checked, never at import time."""

from __future__ import annotations

import re
from datetime import date

import phonenumbers
from flask_babel import gettext as _
from flask_babel import ngettext

from crm.core.errors import FieldErrors
from crm.core.formats import fmt_date
from crm.core.params import MAX_DATE, MIN_DATE, BadValue, OutOfRange, parse_date
from crm.core.text import checked_email
from crm.partners.labels import field_title
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
    label = str(label or field_title(field))
    text = (
        (value or "").strip() if isinstance(value, str) else ("" if value is None else str(value))
    )
    if not multiline:
        text = text.replace("\t", " ")  # a pasted tab is a space in a one-line field
    if required and not text:
        errors.add(field, _("%(field)s is required.", field=label))
    limit = LIMITS.get(field)
    if limit and len(text) > limit:
        errors.add(
            field,
            ngettext(
                "%(field)s is too long: %(num)s character, at most %(limit)s.",
                "%(field)s is too long: %(num)s characters, at most %(limit)s.",
                len(text),
                field=label,
                limit=limit,
            ),
        )
    probe = text.replace("\n", "").replace("\r", "").replace("\t", "") if multiline else text
    if _CONTROL.search(probe) or (not multiline and ("\n" in text or "\r" in text)):
        errors.add(field, _("%(field)s contains control characters or line breaks.", field=label))
    return text


def clean_email(errors: FieldErrors, field: str, value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return checked_email(value)
    except ValueError:
        errors.add(field, _("%(value)s is not a valid e-mail address.", value=repr(value[:80])))
        return value


def clean_phone(errors: FieldErrors, field: str, value: str, region: str) -> str:
    """The phone as typed (trimmed); it must be a possible number for `region` or international."""
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > 40:
        errors.add(field, _("A phone number has at most 40 characters."))
        return value
    try:
        parsed = phonenumbers.parse(value, region)
        if phonenumbers.is_possible_number(parsed):
            return value
    except phonenumbers.NumberParseException:
        pass
    errors.add(
        field,
        _(
            "%(value)s is not a phone number (use +country code, e.g. +7 495 123-45-67).",
            value=repr(value),
        ),
    )
    return value


def clean_inn(errors: FieldErrors, value: str) -> str:
    value = (value or "").strip().replace(" ", "")
    if value and (not (value.isascii() and value.isdigit()) or not 4 <= len(value) <= 20):
        errors.add("inn", _("A tax id is 4 to 20 digits (10 or 12 for a Russian INN)."))
    return value


def clean_choice(
    errors: FieldErrors, field: str, value: str, choices, *, allow_empty=False, titles=None
) -> str:
    """One of `choices` (codes); the message names them by `titles` ({code: title}) if given."""
    value = (value or "").strip()
    if (value or not allow_empty) and value not in choices:
        shown = ", ".join(str(titles.get(c, c)) if titles else c for c in choices)
        errors.add(field, _("Choose one of: %(choices)s.", choices=shown))
    return value


def clean_roles(errors: FieldErrors, roles) -> list[str]:
    roles = [r.strip() for r in roles if r and r.strip()]
    bad = [r for r in roles if r not in PARTNER_ROLES]
    if bad:
        errors.add(
            "roles",
            ngettext(
                "Unknown role: %(roles)s.",
                "Unknown roles: %(roles)s.",
                len(bad),
                roles=", ".join(bad),
            ),
        )
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
            errors.add(
                "tags",
                ngettext(
                    "A tag has at most %(num)s character.",
                    "A tag has at most %(num)s characters.",
                    LIMITS["tag"],
                ),
            )
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
    return clean_text(errors, "value", value, required=True, label=_("Value"))


def clean_date(errors: FieldErrors, field: str, value, *, label) -> date | None:
    if value in (None, ""):
        return None
    try:
        return parse_date(value, label=str(label))
    except OutOfRange:
        errors.add(
            field,
            _(
                "%(field)s must be between %(first)s and %(last)s.",
                field=label,
                first=fmt_date(MIN_DATE),
                last=fmt_date(MAX_DATE),
            ),
        )
    except BadValue:
        errors.add(
            field,
            _("%(field)s must be a date like %(example)s.", field=label, example="1985-04-23"),
        )
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
