"""Selections of partners and the actions on them: what a page shows (a report's drill-down, a
filtered list, a segment's members) handed to an action (save as a segment, plan calls) that
knows nothing of the page.

A *selection source* is registered by the domain that owns the page: its key, and for the
page's query string (`args`) the ids of the partners it shows a user (`partner_ids`), a name
to suggest (`name`) and, when the page's filters can be written as a segment rule, that rule
(`rule`). A *selection action* is registered by the domain that acts (segments, analytics): a
title, the endpoint it POSTs to, who may use it. The macro `_macros/selection.html` draws the
actions under each drill-down as forms posting `source`, `args` and `next`.

An action never trusts ids from a form: it reads the posted source and args (`posted`) and
evaluates the source again for the acting user (`Selection.ids`), so it acts on exactly what
that user may see of the page. Bad input (an unknown source, args a source cannot read) is a
SelectionError with a message the action flashes before sending the user back."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from crm.core.errors import DomainError
from crm.core.registry import RegistryKey
from crm.core.urls import safe_next

MAX_ARGS = 8000  # characters of a posted query string (a long filtered list's is ~300)
MAX_NAME = 200  # a suggested name, as long as a segment's name may be


def _anyone(user) -> bool:
    return True


def _every_source(key: str) -> bool:
    return True


class SelectionError(DomainError):
    """A posted selection that cannot be evaluated (unknown source, unreadable args)."""


@dataclass(frozen=True)
class SelectionSource:
    key: str  # "segment", "analytics.transitions_cell"…
    # (args: MultiDict, user) -> the ids of the partners the page shows him: a SELECT of ids or
    # an iterable; raises SelectionError (or any DomainError) for args it cannot use.
    partner_ids: Callable[[MultiDict, Any], Any]
    name: Callable[[MultiDict], str]  # a suggested name for a segment of the selection
    rule: Callable[[MultiDict], dict | None] | None = None  # the page's filters as a rule
    visible: Callable[[Any], bool] = _anyone


@dataclass(frozen=True)
class SelectionAction:
    key: str
    title: Any  # lazy text of its button
    endpoint: str  # POST: source, args, next (and what its template adds)
    visible: Callable[[Any], bool] = _anyone
    order: int = 100
    applies: Callable[[str], bool] = _every_source  # to a source key
    template: str = "_macros/selection_action.html"  # draws its form


SOURCES: RegistryKey[SelectionSource] = RegistryKey("crm.selection_sources")
ACTIONS: RegistryKey[SelectionAction] = RegistryKey("crm.selection_actions")


def register_source(state_or_app, source: SelectionSource) -> None:
    SOURCES.register(state_or_app, source)


def register_action(state_or_app, action: SelectionAction) -> None:
    ACTIONS.register(state_or_app, action)


def args_text(args) -> str:
    """A query string of `args` (a mapping, a MultiDict, or already a query string)."""
    if args is None:
        return ""
    if isinstance(args, str):
        return args.lstrip("?")
    if hasattr(args, "items") and hasattr(args, "getlist"):
        return urlencode(list(args.items(multi=True)))
    return urlencode([(k, v) for k, v in dict(args).items() if v not in (None, "")])


def parse_args(text: str) -> MultiDict:
    """The posted query string as a MultiDict (SelectionError when it is not one)."""
    text = (text or "").lstrip("?")
    if len(text) > MAX_ARGS or "\x00" in text:
        raise SelectionError(_("The list's address is too long or malformed."))
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
    except ValueError:
        raise SelectionError(_("The list's address is too long or malformed.")) from None
    if any("\x00" in k or "\x00" in v for k, v in pairs):
        raise SelectionError(_("The list's address is too long or malformed."))
    return MultiDict(pairs)


@dataclass
class Selection:
    source: SelectionSource
    args: MultiDict

    def ids(self, user) -> list[int]:
        """The ids of the partners the source gives `user` now, sorted."""
        from crm.extensions import db

        found = self.source.partner_ids(self.args, user)
        if hasattr(found, "subquery"):  # a SELECT of ids
            found = db.session.execute(found).scalars()
        return sorted({int(i) for i in found})

    def name(self) -> str:
        text = " ".join(str(self.source.name(self.args)).split())
        return text[:MAX_NAME] or _("Selection")

    def rule(self) -> dict | None:
        return self.source.rule(self.args) if self.source.rule is not None else None


def selection(source_key: str, args, user) -> Selection:
    """The selection of a source and its args (a query string or a mapping) for `user`."""
    source = SOURCES.of().get(source_key) if isinstance(source_key, str) else None
    if source is None or (user is not None and not source.visible(user)):
        raise SelectionError(_("Unknown list: nothing was done."))
    return Selection(source, parse_args(args if isinstance(args, str) else args_text(args)))


def posted(form, user) -> Selection:
    """The selection a form posted (`source`, `args`)."""
    return selection(form.get("source", ""), form.get("args", ""), user)


def back(form, fallback: str | None = None) -> str:
    """Where an action sends the user back: the page it was posted from (`next`)."""
    return safe_next(form.get("next"), fallback)


@dataclass
class Offer:
    """What the macro draws for one selection: its actions for the user, with the hidden
    values every action's form posts."""

    source: str
    args: str
    next: str
    has_rule: bool
    actions: list[SelectionAction] = field(default_factory=list)


def actions_for(source_key: str, user) -> list[SelectionAction]:
    return [a for a in ACTIONS.of() if a.applies(source_key) and a.visible(user)]


def offer(source_key: str, args, user, next_path: str) -> Offer | None:
    """The actions `user` may take on the selection (None when there are none)."""
    source = SOURCES.of().get(source_key)
    if source is None or user is None or not source.visible(user):
        return None
    actions = actions_for(source_key, user)
    if not actions:
        return None
    text = args_text(args)
    has_rule = False
    if source.rule is not None:
        try:
            has_rule = source.rule(parse_args(text)) is not None
        except DomainError:
            has_rule = False
    return Offer(source_key, text, next_path, has_rule, actions)


def unique_name(name: str, taken: Callable[[Iterable[str]], set[str]]) -> str:
    """`name`, or `name (2)`, `name (3)`… — the first that `taken` (the names among those
    asked for that exist) does not return; cut so that the suffix fits MAX_NAME."""
    name = name[:MAX_NAME].strip() or _("Selection")
    candidates = [name] + [f"{name[: MAX_NAME - len(f' ({n})')]} ({n})" for n in range(2, 100)]
    used = taken(candidates)
    for candidate in candidates:
        if candidate not in used:
            return candidate
    raise SelectionError(_("Too many segments are named %(name)s.", name=name))
