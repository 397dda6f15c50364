"""Registries through which higher domains plug into lower ones (see conventions): the lower
package declares a `RegistryKey`, a higher domain adds its entries from its blueprint's
`record_once` setup, and the lower package iterates them in order without importing it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import current_app

T = TypeVar("T")


def by_order(entry) -> Any:
    return getattr(entry, "order", 100)


class Registry(Generic[T]):
    """Entries of one kind, iterated in `order` (then in the order they were added).

    Each entry has a key (its `key` attribute, else the entry itself): adding a key again
    replaces its entry, so setting up a blueprint twice on one app does not double anything."""

    def __init__(self, sort_key: Callable[[T], Any] = by_order):
        self._entries: dict[Any, T] = {}
        self._sort_key = sort_key
        self._sorted: list[T] | None = None

    def add(self, entry: T, *, key: Any = None) -> None:
        self._entries[getattr(entry, "key", entry) if key is None else key] = entry
        self._sorted = None

    def get(self, key: Any) -> T | None:
        return self._entries.get(key)

    def __iter__(self) -> Iterator[T]:
        if self._sorted is None:
            self._sorted = sorted(self._entries.values(), key=self._sort_key)
        return iter(self._sorted)

    def __len__(self) -> int:
        return len(self._entries)

    def copy(self) -> Registry[T]:
        """The same entries in a registry of their own (tests add a throw-away entry to one)."""
        other: Registry[T] = Registry(self._sort_key)
        other._entries = dict(self._entries)
        return other


class RegistryKey(Generic[T]):
    """Names one registry; each app has its own, kept in `app.extensions[name]`."""

    def __init__(self, name: str, sort_key: Callable[[T], Any] = by_order):
        self.name = name
        self.sort_key = sort_key

    def of(self, app=None) -> Registry[T]:
        """The app's registry (the current app's by default), created when first asked for."""
        app = app if app is not None else current_app
        found = app.extensions.get(self.name)
        if found is None:
            found = app.extensions[self.name] = Registry(self.sort_key)
        return found

    def register(self, state_or_app, entry: T, *, key: Any = None) -> None:
        """Add `entry`; takes the app or a blueprint's setup state (as `record_once` passes)."""
        self.of(getattr(state_or_app, "app", state_or_app)).add(entry, key=key)


# --- the main menu --------------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    title: str
    order: int = 100

    @property
    def key(self) -> str:
        return self.endpoint


NAV: RegistryKey[NavItem] = RegistryKey("crm.nav")


def nav_registry(app) -> Registry[NavItem]:
    return NAV.of(app)


def register_nav(state_or_app, endpoint: str, title: str, order: int = 100) -> None:
    """Called from a blueprint's `record_once` so the item exists once per app. Who sees it is
    the policy's answer for its view (`@requires`), asked when the menu is drawn."""
    NAV.register(state_or_app, NavItem(endpoint, title, order))
