"""List filters as GET forms: one typed way to declare what a list's query string may hold.

A list declares its filters as a `ListFilter` (a WTForms form read from `request.args`, no
CSRF: it changes nothing). Each field reads its value with crm.core.params (the bounds on ids,
pages and dates live there); a bad value never raises: the field falls back to its default and
leaves a message in `problems`, so a hand-edited URL shows the list and says what was ignored.

After reading, each field's value is the form's attribute of that name (`flt.sort == "name"`),
as the queries and templates read it; the field itself, to draw a control, is `flt["sort"]`.
`params(**changes)` gives the query-string arguments for links (defaults left out), so a
pager, a sort link and the URL pushed by HTMX all say the same thing.

A list in a lower domain may take filters from higher ones (the partner list filtered by an
analytics class): it names a registry of `ExtraFilter`s in `extra_filters`, and each entry
adds a field and the SQL condition of its value, without the list importing the higher domain.
A list with a partner dimension names its partner column in `partner_column`, and every
registered partner scope (crm.core.partner_scope: "partner segment") becomes such a filter too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from flask import has_app_context, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import intersect
from werkzeug.datastructures import MultiDict
from wtforms import Form, widgets
from wtforms import fields as wt
from wtforms.fields.choices import Choice

from crm.core.params import (
    INT_MAX,
    BadValue,
    OutOfRange,
    page_or_first,
    parse_date,
    parse_id,
    parse_int,
)
from crm.core.partner_scope import PARTNER_SCOPES, PartnerScope
from crm.core.registry import RegistryKey
from crm.core.text import CONTROL_CHARS

# PostgreSQL refuses NUL in text, and no search or name holds other control characters.
MAX_QUERY = 200  # characters of a search


class Ignored(ValueError):
    """A value a field cannot use: its message is shown, the field keeps its default."""


def _as_multidict(args) -> MultiDict:
    if args is None:
        return MultiDict()
    return args if hasattr(args, "getlist") else MultiDict(args)


class FilterField:
    """What every filter field adds to its WTForms field: read the first value given (a
    missing or empty one is the default), keep a message for a value it cannot use, and write
    a value back as query-string text."""

    def __init__(self, label=None, *, default=None, keep_default=False, active=True, **kwargs):
        super().__init__(label, default=default, **kwargs)
        self.keep_default = keep_default  # written in links even when it is the default
        self.active = active  # a non-default value means the list is filtered (not sort, page)
        self.problems: list[str] = []

    def process_formdata(self, valuelist):
        raw = valuelist[0] if valuelist else ""
        try:
            self.data = self.parse(raw)
        except Ignored as exc:
            self.problems.append(str(exc))
            self.data = self.default

    def parse(self, raw: str):
        """The value of the raw text; Ignored (with its message) when there is none."""
        raise NotImplementedError

    def text(self, value) -> str:
        """`value` as query-string text ("" leaves it out)."""
        if value is None or value is False:
            return ""
        if value is True:
            return "1"
        return value.isoformat() if isinstance(value, date) else str(value)

    def param(self, value) -> str:
        if value == self.default and not self.keep_default:
            return ""
        return self.text(value)

    def _value(self) -> str:  # what an input shows
        return self.text(self.data)


class SearchField(FilterField, wt.SearchField):
    """Free text: trimmed, control characters replaced (with a note unless `quiet`), cut to
    `max_length` (with a note when `report_cut`)."""

    def __init__(
        self,
        label=None,
        *,
        max_length=MAX_QUERY,
        what=_l("The search text"),
        quiet=False,
        report_cut=True,
        **kwargs,
    ):
        kwargs.setdefault("default", "")
        super().__init__(label, **kwargs)
        self.max_length, self.what = max_length, what
        self.quiet, self.report_cut = quiet, report_cut

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        if CONTROL_CHARS.search(text):
            text = CONTROL_CHARS.sub(" ", text).strip()
            if not self.quiet:
                self.problems.append(
                    _("%(what)s had control characters; they were removed.", what=self.what)
                )
        if len(text) > self.max_length:
            text = text[: self.max_length]
            if self.report_cut:
                self.problems.append(
                    _(
                        "%(what)s was cut to %(max)s characters.",
                        what=self.what,
                        max=self.max_length,
                    )
                )
        self.data = text


class Select(widgets.Select):
    """WTForms' select drawn for a fraction of its CPU (a list page draws several selects on
    every request). WTForms 3.3 checks `render_option`'s signature with inspect.signature
    each time a select is drawn: the answer depends on the class alone, so it is kept. And an
    option is written directly, as WTForms writes it (attributes in name order, the value
    escaped) but without a sort, a Markup.format and a join per option."""

    _dispatch: dict = {}

    @classmethod
    def _dispatch_render_option(cls):
        if cls not in Select._dispatch:
            Select._dispatch[cls] = super()._dispatch_render_option()
        return Select._dispatch[cls]

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        selected = " selected" if choice.selected else ""
        label = escape(choice.label or choice.value)
        return Markup(f'<option{selected} value="{escape(value)}">{label}</option>')


class ChoiceField(FilterField, wt.SelectField):
    """One of `choices` ((value, label) pairs, or a dict); an empty value is the default.
    `message` names what was ignored: `{value}` is the value given (cut to `cut` characters,
    quoted). `blank` is the label of an "any" option for the empty value."""

    widget = Select()
    control = "select"  # drawn as a select (_macros/filters.html), subclasses too

    def __init__(
        self,
        label=None,
        choices=(),
        *,
        message=_l("Unknown value {value} ignored."),
        cut=None,
        blank=None,
        strip=False,
        **kwargs,
    ):
        kwargs.setdefault("default", "")
        super().__init__(label, choices=[], **kwargs)
        self.options = _pairs(choices)
        self.message, self.cut, self.blank, self.strip = message, cut, blank, strip

    def parse(self, raw):
        value = raw or self.default
        if self.strip:
            value = value.strip()
        if value in dict(self.options) or value == "" == self.default:
            return value
        shown = value[: self.cut] if self.cut else value
        raise Ignored(str(self.message).format(value=repr(shown)))

    def iter_choices(self):
        current = self.text(self.data)
        pairs = ([("", self.blank)] if self.blank is not None else []) + self.options
        return [Choice(value, label, value == current, {}) for value, label in pairs]


class IdField(FilterField, wt.SelectField):
    """A record id (1..INT_MAX), or one of `keywords` ("none", "me"). The value is an int, or
    the text as given when `as_text` (a keyword is always text). `options` are filled in by the
    view to draw the select: (value, label) pairs after the `fixed` ones."""

    widget = Select()
    control = "select"  # drawn as a select (_macros/filters.html), subclasses too

    def __init__(
        self,
        label=None,
        *,
        message=_l("Unknown record ignored."),
        keywords=(),
        as_text=False,
        fixed=(),
        **kwargs,
    ):
        kwargs.setdefault("default", "" if as_text else None)
        super().__init__(label, choices=[], **kwargs)
        self.message, self.keywords, self.as_text = message, tuple(keywords), as_text
        self.fixed = list(fixed)
        self.options: list[tuple] = []  # (id, label) pairs, set by the view

    def parse(self, raw):
        if not raw:
            return self.default
        if raw in self.keywords:
            return raw
        try:
            number = parse_id(raw)
        except BadValue:
            raise Ignored(str(self.message)) from None
        return raw if self.as_text else number

    def iter_choices(self):
        current = self.text(self.data)
        return [
            Choice(str(v), label, str(v) == current, {})
            for v, label in [*self.fixed, *self.options]
        ]


class PageField(FilterField, wt.IntegerField):
    """A page number: 1 unless 1..PAGE_MAX is given (a bad one noted unless `quiet`)."""

    def __init__(self, label=None, *, quiet=False, **kwargs):
        kwargs.update(default=1, active=False)
        super().__init__(label, **kwargs)
        self.quiet = quiet

    def process_formdata(self, valuelist):
        self.data = page_or_first(
            valuelist[0] if valuelist else None, None if self.quiet else self.problems
        )


class DateField(FilterField, wt.DateField):
    """A date `YYYY-MM-DD` (or `DD.MM.YYYY`) within the app's years; None when none is given.
    `bad(raw)` and `out_of_range(raw, error)` say what a bad one was; the default is None."""

    def __init__(self, label=None, *, what=None, bad=None, out_of_range=None, **kwargs):
        super().__init__(label, **kwargs)
        what = what or _l("The date")
        self.what = what
        self.bad = bad or (
            lambda raw: _(
                "%(what)s %(value)s is not a date (YYYY-MM-DD); ignored.",
                what=what,
                value=repr(raw[:20]),
            )
        )
        self.out_of_range = out_of_range or (
            lambda raw, error: _("%(error)s; ignored.", error=error)
        )

    def parse(self, raw):
        raw = raw.strip()
        if not raw:
            return self.default
        try:
            return parse_date(raw, label=self.what)
        except OutOfRange as exc:
            raise Ignored(self.out_of_range(raw, exc)) from None
        except BadValue:
            raise Ignored(self.bad(raw)) from None


class FlagField(FilterField, wt.BooleanField):
    """A check box: on for "1", "on", "true" or "yes"."""

    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("default", False)
        super().__init__(label, **kwargs)

    def process_formdata(self, valuelist):
        self.data = (valuelist[0] if valuelist else "") in ("1", "on", "true", "yes")

    def _value(self) -> str:  # the value a ticked box sends
        return "1"


class TextField(FilterField, wt.StringField):
    """Raw text (trimmed) that the list checks itself, e.g. against the database."""

    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("default", "")
        super().__init__(label, **kwargs)

    def process_formdata(self, valuelist):
        self.data = (valuelist[0] if valuelist else "").strip()


class ParsedField(FilterField, wt.StringField):
    """A value read by `parse` (a crm.core.params parser, or any that raises BadValue) when
    the parameter is given, even empty; None when it is absent. `message(raw, error)` says
    what was wrong."""

    def __init__(self, label=None, *, parse, message=None, **kwargs):
        super().__init__(label, **kwargs)
        self.parse_value = parse
        self.message = message or (lambda raw, error: _("%(error)s.", error=error))

    def process_formdata(self, valuelist):
        if not valuelist:
            self.data = self.default
            return
        try:
            self.data = self.parse_value(valuelist[0])
        except BadValue as exc:
            self.problems.append(self.message(valuelist[0], exc))
            self.data = self.default


class WholeNumberField(FilterField, wt.IntegerField):
    """A whole number in minimum..maximum (the default when none is given); `message(raw)`
    says what a bad one was."""

    def __init__(self, label=None, *, minimum=1, maximum=INT_MAX, message=None, **kwargs):
        super().__init__(label, **kwargs)
        self.minimum, self.maximum = minimum, maximum
        self.message = message or (
            lambda raw: _("%(value)s is not a whole number.", value=repr(raw[:40]))
        )

    def parse(self, raw):
        raw = raw.strip()
        if not raw:
            return self.default
        try:
            return parse_int(raw, minimum=self.minimum, maximum=self.maximum)
        except BadValue:
            raise Ignored(self.message(raw)) from None


@dataclass(frozen=True)
class ExtraFilter:
    """A filter a higher domain adds to a lower domain's list through the list's registry.

    `field` is an unbound filter field (`ChoiceField(_l("Class"), ...)` outside a class), bound
    under the name `key` (the attribute and the query-string parameter); `clause(value)` is the
    SQL condition of a value other than the field's default, on the list's own rows (e.g.
    `Partner.id.in_(...)`), which may refuse the value by raising Ignored (its message is
    shown, the filter falls back to its default); `visible(user)` says who gets the filter;
    `rule(value)`, when given, is the segment-rule condition of the value (crm.segments' JSON:
    a partner list saved as a dynamic segment writes its filters so)."""

    key: str
    field: Any
    clause: Callable[[Any], Any]
    order: int = 100
    visible: Callable[[Any], bool] = lambda user: True  # noqa: E731
    rule: Callable[[Any], dict] | None = None


# `ListFilter.partner_column` of a report that applies `partner_ids()` itself wherever its
# partner is (several queries, summary tables): the scopes are its filters, but no clause on
# one column is made for it.
OWN_NARROWING = "own"


def _scope_filter(scope: PartnerScope, user) -> ExtraFilter:
    return ExtraFilter(
        scope.key,
        scope.field,
        lambda value: scope.partner_ids(value, user),
        scope.order,
        scope.visible,
        scope.rule,
    )


def _pairs(choices) -> list[tuple[str, str]]:
    return list(choices.items()) if isinstance(choices, dict) else list(choices)


class ListFilter(Form):
    """A list's filters, read from a query string. Subclasses declare FilterFields and may
    check values that depend on each other in `check()`."""

    class Meta:
        csrf = False

    # The registry of the filters higher domains add to this list (None: none can).
    extra_filters: ClassVar[RegistryKey[ExtraFilter] | None] = None
    # The list's partner dimension: the column of its rows naming their partner (the partner
    # scopes narrow it: `column IN (their partner ids)`), or OWN_NARROWING for a report that
    # narrows itself by `partner_ids()`; None: the list has no partner, no scope is offered.
    # Read it from the class (`type(flt).partner_column`): a mapped column is a descriptor.
    partner_column: ClassVar[Any] = None

    def __init__(self, args=None, **values):
        """`args`: the query string (request.args or a mapping). `values`: query-string values
        by parameter name, as if they were in it (`PartnerFilter(city="Москва")` reads
        `?city=Москва`); a name the filter does not have is an error, never silently
        ignored."""
        self._scope_keys: set[str] = set()
        self.extras = self._extras()
        if self.extras:
            declared = type(self)._unbound_fields
            taken = {name for name, _ in declared} & {e.key for e in self.extras}
            if taken:
                raise ValueError(f"{type(self).__name__} already has a filter {sorted(taken)}")
            self._unbound_fields = [*declared, *((e.key, e.field) for e in self.extras)]
        formdata = _as_multidict(args)
        if values:
            formdata = MultiDict(formdata)
            for name, value in values.items():
                formdata.setlist(name, [value] if isinstance(value, str) else list(value))
        super().__init__(formdata=formdata)
        unknown = set(values) - {f.name for f in self._fields.values()} - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no filter {sorted(unknown)}")
        self.problems: list[str] = [p for f in self._fields.values() for p in f.problems]
        for name, field in self._fields.items():
            setattr(self, name, field.data)  # the value; the field stays at self[name]
        self.check()
        self._resolved: dict[str, tuple[Any, Any]] = {}
        for e in self.extras:
            self._resolve(e)

    def __setattr__(self, name, value):
        # A value set after reading (check(), a default of the request) is the field's too,
        # so that the control drawn shows what the list uses.
        fields = self.__dict__.get("_fields")
        if fields and name in fields and not isinstance(value, wt.Field):
            fields[name].data = value
        super().__setattr__(name, value)

    @classmethod
    def from_args(cls, args, *more, **values):
        return cls(args, *more, **values)

    def _extras(self) -> list[ExtraFilter]:
        """The registered extra filters the signed-in user gets (all of them without one),
        then the partner scopes when the list has a partner dimension."""
        if not has_app_context():
            return []
        user = None
        if has_request_context():
            from flask_login import current_user

            user = current_user if current_user.is_authenticated else None
        out = []
        if self.extra_filters is not None:
            out = [e for e in self.extra_filters.of() if user is None or e.visible(user)]
        if type(self).partner_column is not None:
            for scope in PARTNER_SCOPES.of():
                if user is None or scope.visible(user):
                    out.append(_scope_filter(scope, user))
                    self._scope_keys.add(scope.key)
        return out

    def _is_set(self, e: ExtraFilter) -> bool:
        value = getattr(self, e.key)
        return value is not None and value != self[e.key].default and value != ""

    def _resolve(self, e: ExtraFilter):
        """The condition of an extra filter's value (None when it is not set), worked out once
        per value; a value its filter refuses is dropped with the filter's message."""
        if not self._is_set(e):
            return None
        value = getattr(self, e.key)
        known = self._resolved.get(e.key)
        if known is not None and known[0] == value:
            return known[1]
        try:
            clause = e.clause(value)
        except Ignored as exc:
            self.problems.append(str(exc))
            setattr(self, e.key, self[e.key].default)
            return None
        self._resolved[e.key] = (value, clause)
        return clause

    @property
    def extra_fields(self) -> list:
        """The fields of the extra filters, to draw their controls."""
        return [self[e.key] for e in self.extras]

    def extra_clauses(self) -> list:
        """The SQL conditions of the extra filters that narrow the list (a partner scope's on
        the list's partner column; none for a report that narrows itself)."""
        column = type(self).partner_column
        out = []
        for e in self.extras:
            clause = self._resolve(e)
            if clause is None:
                continue
            if e.key in self._scope_keys:
                if column is None or isinstance(column, str):
                    continue
                clause = column.in_(clause)
            out.append(clause)
        return out

    def partner_ids(self):
        """SELECT of the ids of the partners the partner scopes in force allow (the
        intersection when several narrow); None when none narrows the list."""
        selects = [
            clause
            for e in self.extras
            if e.key in self._scope_keys and (clause := self._resolve(e)) is not None
        ]
        if not selects:
            return None
        return selects[0] if len(selects) == 1 else intersect(*selects)

    def scope_params(self) -> dict[str, str]:
        """The query-string arguments of the partner scopes in force: a report's drill-down
        link to another list carries them, so the list shows the same partners."""
        out = {}
        for key in sorted(self._scope_keys):
            text = self[key].param(getattr(self, key))
            if text:
                out[self[key].name] = text
        return out

    def extra_rules(self) -> list[dict] | None:
        """The segment-rule conditions of the extra filters in force (a partner scope's too);
        None when one of them has no rule."""
        out = []
        for e in self.extras:
            if not self._is_set(e):
                continue
            if e.rule is None:
                return None
            out.append(e.rule(getattr(self, e.key)))
        return out

    def check(self) -> None:
        """Rules between fields: change values, append to `problems`."""

    def params(self, **changes) -> dict[str, str]:
        """Query-string arguments of this filter with `changes` (by attribute or parameter
        name), defaults and empty values left out."""
        out = {}
        for name, field in self._fields.items():
            value = changes.get(name, changes.get(field.name, getattr(self, name)))
            text = field.param(value)
            if text:
                out[field.name] = text
        return out

    def summary(self, skip=()) -> list[str]:
        """The filters in force as the reader says them ("Responsible: Иванов", "City:
        «Казань»"), in their order: a name for what the list shows (a saved segment's). The
        options of a select must have been filled in to name its value."""
        from crm.core.formats import fmt_date

        out = []
        for name, f in self._fields.items():
            value = getattr(self, name)
            if name in skip or not f.active or value == f.default or not f.param(value):
                continue
            if isinstance(f, ChoiceField):
                text = str(dict(f.options).get(value, value))
            elif isinstance(f, IdField):
                chosen = [c.label for c in f.iter_choices() if c.selected]
                text = str(chosen[0]) if chosen else f"#{value}"
            elif isinstance(f, FlagField):
                out.append(str(f.label.text))
                continue
            elif isinstance(value, date):
                text = fmt_date(value)
            else:
                text = f"«{value}»"
            out.append(f"{f.label.text}: {text}")
        return out

    @property
    def active(self) -> bool:
        """Whether any filter (not the sort, grouping or page) narrows the list."""
        return any(f.active and f.param(getattr(self, n)) for n, f in self._fields.items())

    @property
    def active_count(self) -> int:
        """How many filters narrow the list (the number on a phone's "Filters" button)."""
        return sum(
            1
            for n, f in self._fields.items()
            if f.active and getattr(self, n) != f.default and f.param(getattr(self, n))
        )
