"""Normalising text for search and duplicate detection (SQLite folds ASCII case only)."""

from __future__ import annotations

import re
import unicodedata

import email_validator
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

# Companies run mail on internal domains (corp.local) and tests use example.test: the library's
# documented way to allow them is to take them off its special-use list.
for _name in ("local", "test"):
    if _name in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_name)

# PostgreSQL refuses NUL in text, and no search term, name or city holds control characters.
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]", re.UNICODE)
# Legal forms say nothing about which company it is: "ООО Ромашка" and "Ромашка, LLC" match.
LEGAL_FORMS = {
    "ооо",
    "оао",
    "зао",
    "пао",
    "ао",
    "ип",
    "нко",
    "ано",
    "тоо",
    "чп",
    "фгуп",
    "муп",
    "гуп",
    "llc",
    "ltd",
    "inc",
    "corp",
    "co",
    "gmbh",
    "ag",
    "plc",
    "sa",
    "sarl",
    "bv",
    "oy",
    "ab",
}


def fold(text: str | None) -> str:
    """Case-folded, single-spaced text with "ё" read as "е" (for search, sorting, matching)."""
    if not text:
        return ""
    # Russian writes "ё" as "е" as often as not: fold them so search and sorting agree.
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return _SPACES.sub(" ", text).strip()


def name_key(name: str | None) -> str:
    """The part of a name that identifies a company: folded, no punctuation or legal form."""
    words = _NON_WORD.sub(" ", fold(name)).split()
    kept = [w for w in words if w not in LEGAL_FORMS]
    return " ".join(kept or words)


def digits(text: str | None) -> str:
    return "".join(ch for ch in (text or "") if ch.isdigit())


def normalise_phone(raw: str | None, region: str = "RU") -> str:
    """E.164 when the number parses, else its digits; '' for no number."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        parsed = phonenumbers.parse(raw, region)
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    return digits(raw)


def normalise_email(raw: str | None) -> str:
    return (raw or "").strip().casefold()


def checked_email(raw: str) -> str:
    """The address in normalised form; ValueError with a readable reason when it is not one."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(
            _(
                "%(value)s is not a valid e-mail address: %(reason)s",
                value=repr(raw.strip()[:80]),
                reason=exc,
            )
        ) from exc
