"""Helpers shared by tests of several areas: what a browser would post from a page's form."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from tests.conftest import DEFAULT_PASSWORD


class _FormFields(HTMLParser):
    """The fields of the form whose action is `action`, as a browser submits them."""

    def __init__(self, action: str):
        super().__init__(convert_charrefs=True)
        self.action, self.inside = action, False
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            # A form without an action posts to its page's URL, which callers pass then.
            self.inside = a.get("action", self.action).split("?")[0] == self.action
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and a.get("name"):
            self.select, self.options = a["name"], []
        elif tag == "option" and self.select:
            self.options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and a.get("name"):
            self.textarea, self.text = a["name"], ""

    def handle_data(self, data):
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            chosen = [v for v, sel in self.options if sel] or [v for v, _ in self.options[:1]]
            self.fields += [(self.select, v) for v in chosen]
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.fields.append((self.textarea, self.text.removeprefix("\r").removeprefix("\n")))
            self.textarea = None


def form_fields(page: str, action: str) -> dict:
    """{name: value, or a list for a repeated name} of the form posting to `action`."""
    parser = _FormFields(action)
    parser.feed(page)
    found: dict = {}
    for name, value in parser.fields:
        if name in found:
            found[name] = (
                [*found[name], value] if isinstance(found[name], list) else [found[name], value]
            )
        else:
            found[name] = value
    return found


def hidden_version(page: str) -> int | None:
    """The version a page's form carries (the first one)."""
    match = re.search(r'<input[^>]*name="version"[^>]*value="(\d+)"', page) or re.search(
        r'<input[^>]*value="(\d+)"[^>]*name="version"', page
    )
    return int(match[1]) if match else None


def signed_in_client(app, user):
    """A second browser: its own test client signed in as `user`."""
    other = app.test_client()
    response = other.post("/auth/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.data[:300]
    return other


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))
