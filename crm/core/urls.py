"""Where a request may send the user next: one check for every `next=` and stored link.

An open redirect makes a phishing link look like ours ("crm.example.com/auth/login?next=…"),
so only a path on this site passes. Browsers are lenient readers of URLs: they drop tab, CR and
LF anywhere, read a backslash as a slash and "//host" as another site; so anything that is
not plainly "/path" is refused rather than repaired.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote, unquote, urlsplit

from flask import request, url_for


def _has_invisible(text: str) -> bool:
    """Whitespace, control or format characters (tab, CR, LF, NUL, NBSP, zero-width space…)."""
    return any(unicodedata.category(ch)[0] in "CZ" for ch in text)


def is_safe_path(target: object) -> bool:
    """True for a same-site path such as "/partners/?q=x"; False for anything a browser could
    read as another site or a script."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or _has_invisible(target):
        return False
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return False
    # A server or proxy further on may decode the path once: "/%2F/evil" or "/%09/evil"
    # must not turn into another site there either.
    path = unquote(parts.path)
    return not (path.startswith("//") or "\\" in path or _has_invisible(path.replace(" ", "")))


def safe_next(target: object, fallback: str | None = None) -> str:
    """`target` if it is a same-site path, else `fallback` (the home page by default)."""
    if is_safe_path(target):
        return target  # type: ignore[return-value]
    return fallback if fallback is not None else url_for("home")


def current_path() -> str:
    """The request's path and query as a `next=` value that `safe_next` accepts: the path
    percent-encoded again (Flask hands it over decoded, spaces and all)."""
    path = quote(request.path, safe="/:@!$&'()*+,;=-._~")
    query = request.query_string.decode("latin-1")
    return f"{path}?{query}" if query else path
