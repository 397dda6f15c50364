"""Rendering user-written message templates in a sandbox.

Templates are written by users, so they run in Jinja's ImmutableSandboxedEnvironment: no
attribute starting with "_" (so `{{ ''.__class__.__mro__ }}` is refused), no mutation of the
values, no globals but what is given here (never the app, its config or a model: placeholder
values are plain data, crm.core.message_placeholders). Before a template runs, its syntax tree
is scanned (`scan`): a private name (`.__class__`, `['__class__']`, `|attr('__class__')`), an
include or import, or a name that is not in the context (`{{ config }}`, `{{ lipsum }}`: a
template sees the placeholders, `unsubscribe_url` and the variables it sets itself, not even
Jinja's globals) is refused with its line. A template that breaks these rules, or does not
parse, is refused when saved (`scan`, `check`) and, should one slip through, its message fails
with the reason instead of being sent.

The HTML body is autoescaped (a partner named `<b>` stays text); the subject, text body and
SMS are not (they are not HTML). Dates and money are formatted in the recipient's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache, partial

from flask_babel import gettext as _
from jinja2 import TemplateError, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from crm.core import formats

# A template longer than this is refused (the editor's limit, and the sandbox's memory).
MAX_SOURCE_CHARS = 100_000
MAX_POWER = 100  # the largest exponent of `**` in a template
MAX_POWER_BITS = 4096  # and the largest whole number it may make
# A message longer than this is refused while it is being rendered (a loop that repeats a long
# text would otherwise fill the worker's memory).
MAX_OUTPUT_CHARS = 1_000_000


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


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, also refusing the two operators that take a whole worker's memory or time
    from one short expression (`{{ 'x' * 10**10 }}`, `{{ 9**9**9 }}`)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, (int, float)):
            big = isinstance(left, int) and left.bit_length() * abs(right) > MAX_POWER_BITS
            if abs(right) > MAX_POWER or big:
                raise SecurityError(f"a power above {MAX_POWER} or beyond {MAX_POWER_BITS} bits")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                repeated = isinstance(seq, (str, list, tuple)) and isinstance(times, int)
                if repeated and len(seq) * times > MAX_SOURCE_CHARS:
                    raise SecurityError(f"a repetition longer than {MAX_SOURCE_CHARS}")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=8)
def _environment(html: bool, language: str) -> ImmutableSandboxedEnvironment:
    """One sandbox per (HTML or not, language): the filters format for that language. No
    globals (Jinja's range, lipsum, cycler… are removed; the scan refuses their names anyway):
    a template sees its context and nothing else."""
    env = _Sandbox(autoescape=html, undefined=_Blank, keep_trailing_newline=True)
    env.globals.clear()
    env.filters.update(_filters(language))
    return env


# --- the scan of the syntax tree ------------------------------------------------------------

# Statements that would reach other templates (there are none to reach: refused outright).
_REFUSED_NODES = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)


@dataclass(frozen=True)
class _Analysis:
    # The first syntax error, include or private name: (what, line, detail); None when none.
    # Kept as data, not as a message: the cache is shared by readers of every language.
    problem: tuple[str, int, str] | None
    free: tuple[tuple[str, int], ...]  # names read from the context, with their first line


@lru_cache(maxsize=1)
def _parser() -> ImmutableSandboxedEnvironment:
    """The sandbox without globals: its parse reports `range` or `lipsum` as free names, which
    the context must then hold like any other. (The sandbox's own class, so that `**` and `*`
    are not computed while compiling either.)"""
    env = _Sandbox()
    env.globals.clear()
    env.filters.update(_filters("ru"))
    return env


def _private(value) -> bool:
    return isinstance(value, str) and value.startswith("_")


def _private_name(node) -> str | None:
    """The private attribute or key `node` reads, if any: `x.__class__`, `x['__class__']`,
    `x|attr('__class__')`, `xs|map(attribute='__class__')` (any filter or test argument)."""
    if isinstance(node, nodes.Getattr) and _private(node.attr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return node.arg.value if _private(node.arg.value) else None
    if isinstance(node, (nodes.Filter, nodes.Test)):
        values = [*node.args, *(kw.value for kw in node.kwargs)]
        for value in values:
            if isinstance(value, nodes.Const) and _private(value.value):
                return value.value
    return None


@lru_cache(maxsize=512)
def _analyse(source: str) -> _Analysis:
    try:
        tree = _parser().parse(source)
        kinds = (nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Test, *_REFUSED_NODES)
        for node in sorted(tree.find_all(kinds), key=lambda n: n.lineno):
            if isinstance(node, _REFUSED_NODES):
                return _Analysis(("include", node.lineno, ""), ())
            name = _private_name(node)
            if name is not None:
                return _Analysis(("private", node.lineno, name), ())
        # Names the template reads but does not set itself (a for loop's or a {% set %}'s
        # are its own). Compiling also finds an unknown filter or test.
        free = set(meta.find_undeclared_variables(tree))
    except TemplateSyntaxError as exc:  # also TemplateAssertionError: an unknown filter
        return _Analysis(("syntax", exc.lineno, exc.message or ""), ())
    # `self` (the template object) is not reported by Jinja: it is added here. The line
    # shown: a name the template also sets somewhere (a loop variable read after its loop)
    # is reported where it is read last, any other where it is read first.
    stored = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    lines: dict[str, int] = {}
    for node in tree.find_all(nodes.Name):
        wanted = node.ctx == "load" and (node.name in free or node.name == "self")
        if wanted and (node.name in stored or node.name not in lines):
            lines[node.name] = node.lineno
    return _Analysis(None, tuple(sorted(lines.items(), key=lambda item: (item[1], item[0]))))


def scan(source: str, names) -> str:
    """'' when `source` parses, reads no private attribute, includes nothing and names only
    `names` (the placeholders' keys, unsubscribe_url) besides its own variables; else the
    first problem, with its line, for the template's author."""
    if not source:
        return ""
    analysis = _analyse(source)
    if analysis.problem is not None:
        what, line, detail = analysis.problem
        if what == "syntax":
            return _("line %(line)s: %(error)s", line=line, error=detail)
        if what == "include":
            return _(
                "line %(line)s: a message template cannot include or import other templates",
                line=line,
            )
        return _(
            "line %(line)s: “%(name)s” is not allowed: names starting with “_” are private",
            line=line,
            name=detail,
        )
    for name, line in analysis.free:
        if name not in names:
            return _("line %(line)s: “%(name)s” is not a placeholder", line=line, name=name)
    return ""


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool, language: str):
    """A mailing renders the same few sources thousands of times: compile each once."""
    return _environment(html, language).from_string(source)


def _produce(template, context: Mapping) -> str:
    """The template's output, refused once it passes MAX_OUTPUT_CHARS (before, not after,
    the worker's memory holds it)."""
    parts, size = [], 0
    for part in template.generate(context):
        size += len(part)
        if size > MAX_OUTPUT_CHARS:
            raise RenderError(f"the message is longer than {MAX_OUTPUT_CHARS} characters")
        parts.append(part)
    return "".join(parts)


def _render(source: str, context: Mapping, *, html: bool, language: str) -> str:
    if not source:
        return ""
    if len(source) > MAX_SOURCE_CHARS:
        raise RenderError(f"the template is longer than {MAX_SOURCE_CHARS} characters")
    problem = scan(source, context)
    if problem:
        raise RenderError(problem)
    try:
        return _produce(_compiled(source, html, language or "ru"), context)
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
