"""The permission policy: who may do what to which record, and which rows a user sees.

Core knows no domain and no role: each domain registers its rules (an action name such as
"partner.edit" → a function of the user and the record) and its visible-rows filters (a model
→ a function of the user giving an SQL condition) when its blueprint is set up, in the
domain's own `policy.py`. Views, services, queries and templates then ask `may(...)`; no role
string is compared anywhere else. An action nobody registered is a programming error (a typo
must not silently deny or allow), so asking for it raises LookupError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import abort, current_app
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.errors import PermissionDenied
from crm.extensions import db, login_manager

Rule = Callable[[Any, Any], bool]  # (user, record or None) -> allowed
RowsFilter = Callable[[Any], Any]  # user -> SQL condition, or None for every row


@dataclass
class Policy:
    rules: dict[str, Rule] = field(default_factory=dict)
    rows: dict[type, RowsFilter] = field(default_factory=dict)


def _policy(app=None) -> Policy:
    return (app or current_app).extensions.setdefault("crm.policy", Policy())


def _add(target: dict, entries: Mapping, what: str) -> None:
    for key, fn in entries.items():
        if key in target and target[key] is not fn:
            raise ValueError(f"{what} {key!r} is registered twice")
        target[key] = fn


def register_rules(state_or_app, rules: Mapping[str, Rule]) -> None:
    """Add a domain's rules; called from its blueprint's `record_once`."""
    app = getattr(state_or_app, "app", state_or_app)
    _add(_policy(app).rules, rules, "the action")


def register_rows(state_or_app, rows: Mapping[type, RowsFilter]) -> None:
    """Add a domain's visible-rows filters (model → condition for a user)."""
    app = getattr(state_or_app, "app", state_or_app)
    _add(_policy(app).rows, rows, "the rows filter of")


def actions(app=None) -> list[str]:
    """Every registered action name (tests list them)."""
    return sorted(_policy(app).rules)


def may(user, action: str, obj=None) -> bool:
    """May `user` do `action` (to `obj`, for actions on a record)? Never for no one signed in."""
    try:
        rule = _policy().rules[action]
    except KeyError:
        raise LookupError(f"no permission rule for {action!r}") from None
    # Only "no one signed in" is refused here: an inactive user's job or import keeps the
    # rights his role gives (Flask-Login already refuses his sessions).
    if user is None or getattr(user, "is_anonymous", False):
        return False
    return bool(rule(user, obj))


def require(user, action: str, obj=None, message: str | None = None) -> None:
    """Raise PermissionDenied (the views answer 403) unless `may(user, action, obj)`."""
    if not may(user, action, obj):
        raise PermissionDenied(message or _("You may not do this."))


def rows_clause(user, model):
    """The SQL condition on `model`'s rows that `user` may see; None when he sees them all."""
    try:
        rows = _policy().rows[model]
    except KeyError:
        raise LookupError(f"no visible-rows filter for {model.__name__}") from None
    return rows(user)


def visible(user, model, stmt):
    """`stmt` limited to the rows of `model` that `user` may see."""
    clause = rows_clause(user, model)
    return stmt if clause is None else stmt.where(clause)


def load_or_403(model_or_loader, object_id, *actions: str):
    """The row with `object_id` if the signed-in user may do every one of `actions` to it: 404
    when there is no such row, 403 when there is but he may not. The row is read by
    `db.session.get(model, id)`, or by a domain's own loader (one that eager-loads the card)."""
    if isinstance(model_or_loader, type):
        obj = db.session.get(model_or_loader, object_id)
    else:
        obj = model_or_loader(object_id)
    if obj is None:
        abort(404)
    for action in actions:
        if not may(current_user, action, obj):
            abort(403)
    return obj


def requires(action: str):
    """A view decorator: only users who `may(action)` get in (others 403; anonymous: sign in)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not may(current_user, action):
                abort(403)
            return view(*args, **kwargs)

        wrapped.crm_action = action  # the menu shows the view's link only to who may open it
        return wrapped

    return decorator


def may_open(endpoint: str) -> bool:
    """May the signed-in user open `endpoint` (as far as its `@requires` says)? The menu asks."""
    view = current_app.view_functions.get(endpoint)
    action = getattr(view, "crm_action", None)
    return action is None or may(current_user, action)


def may_current(action: str, obj=None) -> bool:
    """`may` for the signed-in user: templates call it as `may("partner.create")`."""
    return may(current_user, action, obj)
