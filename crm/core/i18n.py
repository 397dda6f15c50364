"""The interface language: Flask-Babel with Russian first, English second.

Each domain keeps its own catalog beside its code (`crm/<domain>/translations/`, the core's in
`crm/translations/`, see crm/core/catalogs.py), so a new domain brings its strings without
editing anyone else's file. Catalogs are read from the `.po` files and compiled in memory when
first needed: there is no `.mo` file to forget to rebuild.

The language is the user's own (`User.locale`), else — signed out — the best match of the
browser's Accept-Language, else DEFAULT_LOCALE. The time zone is the user's, else
DEFAULT_TIMEZONE. Jobs and CLI commands pick a person's language with `in_language(locale)`.
"""

from __future__ import annotations

import io
import threading
import time
from contextlib import contextmanager
from functools import cached_property

from babel import support
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, has_request_context, request
from flask_babel import Babel, Domain, force_locale, get_locale, refresh
from flask_login import current_user

# The languages the interface speaks, in the order the Account page offers them.
LANGUAGES = {"ru": "Русский", "en": "English"}


def normalise_locale(value: str | None, default: str = "ru") -> str:
    """A supported language code for `value` ("ru_RU", "en-GB" → "ru", "en")."""
    code = (value or "").replace("-", "_").split("_")[0].lower()
    return code if code in LANGUAGES else default


class CatalogDomain(Domain):
    """Flask-Babel's domain, but reading every catalog's `.po` and compiling it in memory."""

    _lock = threading.Lock()

    def __init__(self):
        super().__init__()
        self._compiled: dict[tuple, support.Translations] = {}

    def get_translations(self):
        locale = get_locale()
        if locale is None:
            return support.NullTranslations()
        language = str(locale.language)
        found = self._compiled.get(language)
        # A development server picks up an edited catalog without a restart; elsewhere the
        # catalogs are read once per process.
        if found is None or (current_app.debug and _edited(found, language)):
            with self._lock:
                found = _compile(language)
                self._compiled = {**self._compiled, language: found}
        return found


def _edited(found, language: str) -> bool:
    now = time.monotonic()
    if now - found.checked_at < 1:  # at most one look at the files a second
        return False
    found.checked_at = now
    return found.stamp != _stamp(language)


def _stamp(language: str) -> tuple:
    from crm.core.catalogs import po_files

    return tuple((str(p), p.stat().st_mtime_ns) for p in po_files(language))


def _compile(language: str) -> support.Translations:
    from crm.core.catalogs import po_files

    merged = support.Translations()
    for path in po_files(language):
        with open(path, "rb") as fh:
            catalog = read_po(fh)
        buf = io.BytesIO()
        write_mo(buf, catalog, use_fuzzy=False)
        buf.seek(0)
        one = support.Translations(fp=buf)
        merged.merge(one)
        # Translations.merge copies messages only; the plural rule (three forms in Russian)
        # comes from the catalog's header.
        merged.plural = one.plural
    merged.stamp = _stamp(language)
    merged.checked_at = time.monotonic()
    return merged


class CrmBabel(Babel):
    @cached_property
    def domain_instance(self):
        return CatalogDomain()


babel = CrmBabel()


# The JSON API (crm/api, `/api/…`, as crm/errors.py knows it) answers tools and their authors:
# its messages stay English whatever the token's user reads in the browser.
API_PREFIX = "/api/"


def _select_locale() -> str:
    default = current_app.config["DEFAULT_LOCALE"]
    if has_request_context() and request.path.startswith(API_PREFIX):
        return "en"
    if current_user and current_user.is_authenticated:
        return normalise_locale(getattr(current_user, "locale", None), default)
    if has_request_context():
        return request.accept_languages.best_match(list(LANGUAGES), default=default)
    return default


def _select_timezone() -> str:
    if current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


def init_app(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["DEFAULT_LOCALE"])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["DEFAULT_TIMEZONE"])
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)

    # Each request chooses again: an app context that outlives a request (a test's, a CLI's)
    # would otherwise keep the first request's language in `g`.
    app.before_request(refresh)

    @app.context_processor
    def language():
        locale = get_locale()
        return {"current_language": str(locale.language) if locale else "ru"}


@contextmanager
def in_language(locale: str | None):
    """Run a block in a person's language (a job's e-mail, a CLI message): `with
    in_language(user.locale): ...`. Needs an app context."""
    code = normalise_locale(locale, current_app.config["DEFAULT_LOCALE"])
    with force_locale(code):
        yield


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    """Flask-Babel's ngettext, except that `num` may be given: the count as written for the
    reader ("1 234"), while `n` picks the plural form (Flask-Babel's own refuses a `num`
    beside `n`). Named so, the catalog extraction finds its strings."""
    from flask_babel import get_domain

    variables.setdefault("num", n)
    return get_domain().get_translations().ungettext(singular, plural, n) % variables
