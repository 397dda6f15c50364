"""The import/export kinds of an app. Each domain registers its own with `register_kind` from
its blueprint's setup, so exchange reads, checks, writes and exports files of kinds it does
not know (conventions: a lower layer offers a registry, a higher domain plugs into it)."""

from __future__ import annotations

from flask import current_app

from crm.exchange.kind import Kind


def _kinds(app) -> dict[str, Kind]:
    return app.extensions.setdefault("crm.exchange_kinds", {})


def register_kind(state_or_app, kind: Kind) -> None:
    """Called from a blueprint's `record_once` so that the kind exists once per app."""
    app = getattr(state_or_app, "app", state_or_app)
    if not kind.name or kind.name in _kinds(app):
        raise ValueError(f"an import kind needs a name of its own: {kind.name!r}")
    _kinds(app)[kind.name] = kind


def kinds(app=None) -> dict[str, Kind]:
    """The registered kinds by name, in their order (then the order they registered in)."""
    found = _kinds(app or current_app)
    return {k.name: k for k in sorted(found.values(), key=lambda k: k.order)}


def kind_named(name: str) -> Kind | None:
    return _kinds(current_app).get(name)
