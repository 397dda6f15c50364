"""One URL serves a full page or, for an HTMX request, just the fragment it swaps."""

from __future__ import annotations

from flask import make_response, render_template
from htmx_flask import request


def is_fragment_request() -> bool:
    """HTMX asked for a part of the page (history restores and boosts want the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def render(template: str, fragment: str | None = None, status: int = 200, **context):
    """Render `template`, or `fragment` for HTMX requests; responses vary on HX-Request."""
    name = fragment if (fragment and is_fragment_request()) else template
    response = make_response(render_template(name, **context), status)
    response.vary.add("HX-Request")
    return response
