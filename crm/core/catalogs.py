"""Message catalogs: which strings each domain's catalog holds, and keeping them current.

A domain owns a catalog when its package has a `translations/` folder
(`crm/partners/translations/ru/LC_MESSAGES/messages.po`). Its strings are those of its
package (`crm/partners/**.py`) and its templates (`templates/partners/**.html`); everything
else (crm/*.py, crm/core, templates/*.html, `_macros`, `errors`) belongs to the core catalog in
`crm/translations/`. So a new domain adds its catalog by creating the folder
(`flask --app app crm i18n init <domain>`), without touching anyone else's file.

`make messages` extracts and updates every catalog (new strings arrive untranslated, strings
gone from the code are dropped); `make check-messages` — and a test — fails when a string of the
code is missing from a catalog, untranslated, fuzzy, stale, or its placeholders differ.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[2]
CRM = ROOT / "crm"
TEMPLATES = ROOT / "templates"
# The languages that need a catalog: English is the language the strings are written in.
TRANSLATED = ("ru",)
CORE = "core"

KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "lazy_pgettext": ((1, "c"), 2),
    "_lp": ((1, "c"), 2),
}
METHODS = {".py": "python", ".html": "jinja2.ext:babel_extract"}
JINJA_OPTIONS = {"extensions": "jinja2.ext.do,jinja2.ext.loopcontrols", "trimmed": "true"}
# Fixed header dates: a catalog file changes only when its messages do.
STAMP = datetime(2026, 12, 4)


@dataclass
class Message:
    id: str | tuple[str, str]
    context: str | None = None
    locations: list[tuple[str, int]] = field(default_factory=list)
    python_format: bool = False


def domains() -> list[str]:
    """The domains that own a catalog, plus the core."""
    return [CORE] + sorted(
        p.parent.name for p in CRM.glob("*/translations") if p.is_dir() and p.parent.name != "core"
    )


def catalog_dir(domain: str) -> Path:
    return CRM / "translations" if domain == CORE else CRM / domain / "translations"


def po_path(domain: str, language: str) -> Path:
    return catalog_dir(domain) / language / "LC_MESSAGES" / "messages.po"


@cache
def po_files(language: str) -> tuple[Path, ...]:
    """Every catalog file of `language` (read by crm/core/i18n.py), found once per process."""
    return tuple(p for d in domains() if (p := po_path(d, language)).exists())


def owner(path: Path) -> str:
    """The catalog a source file's strings belong to."""
    rel = path.relative_to(ROOT).parts
    own = set(domains())
    if rel[0] in ("crm", "templates") and len(rel) > 2 and rel[1] in own:
        return rel[1]
    return CORE


def sources() -> list[Path]:
    files = sorted(CRM.rglob("*.py")) + sorted(TEMPLATES.rglob("*.html"))
    return [p for p in files if "translations" not in p.parts]


def extract() -> dict[str, dict[tuple, Message]]:
    """The strings in the code, per catalog: {domain: {(context, id): Message}}."""
    found: dict[str, dict[tuple, Message]] = {d: {} for d in domains()}
    for path in sources():
        method = METHODS[path.suffix]
        options = JINJA_OPTIONS if path.suffix == ".html" else {}
        rel = str(path.relative_to(ROOT))
        for lineno, msg, _comments, context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options
        ):
            if isinstance(msg, tuple | list):
                msg = tuple(msg)
                if not all(msg):
                    continue
            elif not msg:
                continue
            box = found[owner(path)]
            key = (context, msg)
            m = box.setdefault(key, Message(msg, context))
            m.locations.append((rel, lineno))
            text = " ".join(msg) if isinstance(msg, tuple) else msg
            m.python_format = m.python_format or "%(" in text or "%s" in text
    return found


def _template(domain: str, messages: dict[tuple, Message], language: str) -> Catalog:
    cat = Catalog(
        locale=language,
        project="CRM",
        creation_date=STAMP,
        revision_date=STAMP,
        fuzzy=False,
    )
    for m in messages.values():
        cat.add(
            m.id,
            string=("", "") if isinstance(m.id, tuple) else "",
            locations=[(p, None) for p, _ in m.locations[:3]],
            flags=("python-format",) if m.python_format else (),
            context=m.context,
        )
    return cat


def read_catalog(path: Path) -> Catalog:
    with open(path, "rb") as fh:
        return read_po(fh)


def update(language: str = "ru") -> list[Path]:
    """Bring every catalog in line with the code; returns the files that changed."""
    changed = []
    for domain, messages in extract().items():
        path = po_path(domain, language)
        fresh = _template(domain, messages, language)
        if path.exists():
            old = read_catalog(path)
            old.update(fresh, no_fuzzy_matching=True, update_header_comment=False)
            old.obsolete.clear()
            old.creation_date = old.revision_date = STAMP
            catalog = old
        else:
            catalog = fresh
        buf = io.BytesIO()
        write_po(buf, catalog, width=100, sort_output=True, include_lineno=False)
        text = buf.getvalue()  # written only when it differs: no churn in git
        if not path.exists() or path.read_bytes() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text)
            changed.append(path)
    po_files.cache_clear()
    return changed


def problems(language: str = "ru") -> list[str]:
    """What is wrong with the catalogs of `language`, one line each (empty: all good)."""
    out = []
    # All catalogs of a language are merged into one (crm/core/i18n.py): a msgid translated
    # two ways would show one of them everywhere. Such a msgid needs a context (pgettext).
    seen: dict[tuple, tuple[str, object]] = {}
    for domain, messages in extract().items():
        path = po_path(domain, language)
        if not path.exists():
            if messages:
                out.append(f"{path.relative_to(ROOT)}: missing ({len(messages)} strings)")
            continue
        catalog = read_catalog(path)
        rel = path.relative_to(ROOT)
        for (context, msgid), m in messages.items():
            entry = catalog.get(msgid, context=context)
            where = "{}:{}".format(*m.locations[0])
            if entry is None:
                out.append(f"{rel}: not in the catalog: {msgid!r} ({where})")
            elif entry.fuzzy:
                out.append(f"{rel}: fuzzy: {msgid!r}")
            elif not all(entry.string) if isinstance(entry.string, tuple) else not entry.string:
                out.append(f"{rel}: untranslated: {msgid!r} ({where})")
        for entry in catalog:
            if entry.id and (entry.context, entry.id) not in messages:
                out.append(f"{rel}: stale (no longer in the code): {entry.id!r}")
        for entry in catalog:
            if not entry.id or not entry.string:
                continue
            key = (entry.context, entry.id)
            other = seen.setdefault(key, (domain, entry.string))
            if other[1] != entry.string:
                out.append(
                    f"{rel}: {entry.id!r} is translated differently in the {other[0]} catalog"
                    f" ({other[1]!r} vs {entry.string!r}): give one a context (pgettext)"
                )
        for entry, errors in catalog.check():
            for error in errors:
                out.append(f"{rel}: {entry.id!r}: {error}")
        if catalog.num_plurals != 3 and language == "ru":
            out.append(f"{rel}: Plural-Forms must have 3 forms for Russian")
    return out


def write_catalog(path: Path, catalog: Catalog) -> None:
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, sort_output=True, include_lineno=False)
    path.write_bytes(buf.getvalue())


def fill(domain: str, translations: dict, language: str = "ru") -> list[str]:
    """Set translations in a domain's catalog: {msgid: text} or, for plurals,
    {msgid_singular: [form1, form2, form5]}; a msgid with a context is keyed
    "context\u0004msgid". Returns the msgids the catalog does not hold (run
    `update` first). A translator's tool: editing the .po by hand works as well."""
    path = po_path(domain, language)
    catalog = read_catalog(path)
    unknown = []
    for key, text in translations.items():
        # "context\u0004msgid" (gettext's own separator) names a msgid with a context.
        context, _, msgid = key.rpartition("\x04")
        entry = catalog.get(msgid, context=context or None)
        if entry is None:
            unknown.append(key)
            continue
        entry.string = tuple(text) if isinstance(entry.id, tuple | list) else text
        entry.flags.discard("fuzzy")
    write_catalog(path, catalog)
    po_files.cache_clear()
    return unknown


def init_domain(domain: str, language: str = "ru") -> Path:
    """Give a domain its own catalog folder (its strings then move out of the core's)."""
    if not (CRM / domain).is_dir():
        raise ValueError(f"no package crm/{domain}")
    path = po_path(domain, language)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        buf = io.BytesIO()
        write_po(buf, _template(domain, {}, language), width=100)
        path.write_bytes(buf.getvalue())
    po_files.cache_clear()
    return path
