"""Rendering user-written message templates in a sandbox.

Templates are written by users, so they run in Jinja's ImmutableSandboxedEnvironment: no
attribute starting with "_" (so `{{ ''.__class__.__mro__ }}` is refused), no mutation of the
values, no globals but what is given here (never the app, its config or a model: placeholder
values are plain data, crm.core.message_placeholders), `range` capped by Jinja. A template
that breaks these rules, or does not parse, is refused when saved (`check`) and, should one
slip through, its message fails with the reason instead of being sent.

The HTML body is autoescaped (a partner named `<b>` stays text); the subject, text body and
SMS are not (they are not HTML). Dates and money are formatted in the recipient's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache, partial

from jinja2 import TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from crm.core import formats

# A template longer than this is refused (the editor's limit, and the sandbox's memory).
MAX_SOURCE_CHARS = 100_000


class RenderError(ValueError):
    """A template that cannot be rendered: bad syntax, a sandbox violation, a failing value.
    `reason` is readable by the template's author."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Blank(Undefined):
    """An unknown or empty placeholder renders as nothing (a partner without a manager), but a
    sandbox violation still raises (that is not an Undefined)."""

    def __str__(self) -> str:
        # The sandbox answers a forbidden attribute (`''.__class__`) with an Undefined whose
        # error is a SecurityError: that one must fail, not print as nothing.
        if self._undefined_exception is SecurityError:
            self._fail_with_undefined_error()
        return ""

    __html__ = __str__


def _filters(language: str) -> dict:
    """Formatting filters bound to the recipient's language (not the sender's)."""
    return {
        "date": partial(formats.fmt_date, locale=language),
        "datetime": partial(formats.fmt_datetime, locale=language),
        "number": partial(formats.fmt_number, locale=language),
        "money": partial(formats.fmt_money, locale=language),
    }


@lru_cache(maxsize=8)
def _environment(html: bool, language: str) -> ImmutableSandboxedEnvironment:
    """One sandbox per (HTML or not, language): the filters format for that language. Only
    Jinja's default globals (range, dict, lipsum, cycler, joiner, namespace: all sandbox-safe);
    nothing of the app is added."""
    env = ImmutableSandboxedEnvironment(
        autoescape=html, undefined=_Blank, keep_trailing_newline=True
    )
    env.filters.update(_filters(language))
    return env


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool, language: str):
    """A mailing renders the same few sources thousands of times: compile each once."""
    return _environment(html, language).from_string(source)


def _render(source: str, context: Mapping, *, html: bool, language: str) -> str:
    if not source:
        return ""
    if len(source) > MAX_SOURCE_CHARS:
        raise RenderError(f"the template is longer than {MAX_SOURCE_CHARS} characters")
    try:
        return _compiled(source, html, language or "ru").render(context)
    except SecurityError as exc:
        raise RenderError(f"not allowed in a template: {exc}") from exc
    except TemplateError as exc:
        raise RenderError(str(exc)) from exc
    except (ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise RenderError(f"{type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


def render(subject: str, html: str, text: str, context: Mapping, language: str = "ru") -> Rendered:
    """One message's subject, HTML and text body (SMS: the text) for `context`."""
    return Rendered(
        subject=" ".join(_render(subject, context, html=False, language=language).split()),
        html=_render(html, context, html=True, language=language),
        text=_render(text, context, html=False, language=language),
    )


def check(source: str, context: Mapping, *, html: bool = False, language: str = "ru") -> str:
    """'' when `source` renders with the sample `context`, else the reason (for the form)."""
    try:
        _render(source, context, html=html, language=language)
    except RenderError as exc:
        return exc.reason
    return ""
