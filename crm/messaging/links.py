"""The public links of a message, at fixed short paths that the public views serve (no
sign-in: the signed token is the proof):

    /m/u/<token>        unsubscribe page (GET shows it, POST unsubscribes: one click)
    /m/o/<token>.gif    the open pixel
    /m/c/<token>        a tracked link: records the click, redirects to the signed URL

Built on BASE_URL (a worker has no request to take the host from); without BASE_URL on the
current request's host, else as paths."""

from __future__ import annotations

import re
from html import unescape

from flask import current_app, has_request_context, request
from markupsafe import escape

from crm.messaging import tokens

UNSUBSCRIBE_PATH = "/m/u/"
OPEN_PATH = "/m/o/"
CLICK_PATH = "/m/c/"


def _base() -> str:
    base = current_app.config.get("BASE_URL") or ""
    if not base and has_request_context():
        base = request.host_url.rstrip("/")
    return base


def unsubscribe_url(key: str) -> str:
    return f"{_base()}{UNSUBSCRIBE_PATH}{tokens.make('unsubscribe', key)}"


def pixel_url(key: str) -> str:
    return f"{_base()}{OPEN_PATH}{tokens.make('open', key)}.gif"


def click_url(key: str, url: str) -> str:
    return f"{_base()}{CLICK_PATH}{tokens.make('click', key, url)}"


# href="…" / href='…' of <a> elements; only http(s) links are tracked (not mailto:, tel:, #,
# and not our own unsubscribe link: a click there must not count as interest).
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def track(html: str, key: str) -> str:
    """The HTML with its http(s) links going through the click redirect and an open pixel
    before </body> (or at the end)."""
    unsubscribe = _base() + UNSUBSCRIBE_PATH

    def swap(match: re.Match) -> str:
        url = unescape(match.group(3)).strip()
        if not re.match(r"https?://", url, re.IGNORECASE) or url.startswith(unsubscribe):
            return match.group(0)
        quote = match.group(2)
        return f"{match.group(1)}{quote}{escape(click_url(key, url))}{quote}"

    html = _HREF.sub(swap, html)
    pixel = f'<img src="{escape(pixel_url(key))}" width="1" height="1" alt="">'
    at = html.lower().rfind("</body>")
    return html[:at] + pixel + html[at:] if at >= 0 else html + pixel
