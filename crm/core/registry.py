"""Small registries through which higher domains plug into lower ones (see conventions)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    title: str
    order: int = 100
    roles: frozenset[str] | None = None  # None: every signed-in user

    def visible_to(self, user) -> bool:
        return self.roles is None or getattr(user, "role", None) in self.roles


@dataclass
class Registry:
    """An ordered list of entries that blueprints add to while the app is set up."""

    items: list = field(default_factory=list)

    def add(self, item) -> None:
        self.items.append(item)
        self.items.sort(key=lambda i: getattr(i, "order", 100))

    def __iter__(self):
        return iter(self.items)


def nav_registry(app) -> Registry:
    return app.extensions.setdefault("crm.nav", Registry())


def register_nav(state_or_app, endpoint: str, title: str, order: int = 100, roles=None) -> None:
    """Called from a blueprint's `record_once` so the item exists once per app."""
    app = getattr(state_or_app, "app", state_or_app)
    nav_registry(app).add(NavItem(endpoint, title, order, frozenset(roles) if roles else None))
