"""The import/export kinds of an app. Each domain registers its own with `register_kind` from
its blueprint's setup, so exchange reads, checks, writes and exports files of kinds it does
not know (conventions: a lower layer offers a registry, a higher domain plugs into it)."""

from __future__ import annotations

from crm.core.registry import Registry, RegistryKey
from crm.exchange.kind import Kind

KINDS: RegistryKey[Kind] = RegistryKey("crm.exchange_kinds")


def register_kind(state_or_app, kind: Kind) -> None:
    """Called from a blueprint's `record_once` so that the kind exists once per app. A name is
    the kind's identity in files, URLs and the API: a second kind of one name is refused."""
    app = getattr(state_or_app, "app", state_or_app)
    if not kind.name or KINDS.of(app).get(kind.name) is not None:
        raise ValueError(f"an import kind needs a name of its own: {kind.name!r}")
    KINDS.register(app, kind, key=kind.name)


def kinds(app=None) -> dict[str, Kind]:
    """The registered kinds by name, in their order (then the order they registered in)."""
    return {k.name: k for k in KINDS.of(app)}


def kind_named(name: str) -> Kind | None:
    return KINDS.of().get(name)


def kinds_copy(app) -> Registry[Kind]:
    """The app's kinds in a registry of their own (a test adds a throw-away kind to one)."""
    return KINDS.of(app).copy()
