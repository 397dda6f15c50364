"""Small readers of the deal pages shared by the deal page tests."""

from __future__ import annotations

import html
import re

HX = {"HX-Request": "true"}

_NO_CELL = re.compile(
    r'<td data-label="[^"]*" class="fw-semibold text-nowrap"><a href="/deals/\d+">(.*?)</a>'
)


def text(response) -> str:
    return response.get_data(as_text=True)


def listed(response) -> list[str]:
    """The deal numbers of the list's rows, in order."""
    return [html.unescape(n) for n in _NO_CELL.findall(text(response))]
