"""Normalising text for search and duplicate detection (SQLite folds ASCII case only)."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]", re.UNICODE)
# Legal forms say nothing about which company it is: "ООО Ромашка" and "Ромашка, LLC" match.
LEGAL_FORMS = {
    "ооо", "оао", "зао", "пао", "ао", "ип", "нко", "ано", "тоо", "чп", "фгуп", "муп", "гуп",
    "llc", "ltd", "inc", "corp", "co", "gmbh", "ag", "plc", "sa", "sarl", "bv", "oy", "ab",
}  # fmt: skip


def fold(text: str | None) -> str:
    """Case-folded, accent-stable, single-spaced text ("Ё" and "е" kept distinct)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", text).strip()


def name_key(name: str | None) -> str:
    """The part of a name that identifies a company: folded, no punctuation or legal form."""
    words = _NON_WORD.sub(" ", fold(name).replace("ё", "е")).split()
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
