"""Tabs of the partner card. Higher domains add theirs (interactions, deals, sales…) with
`register_tab` from their blueprint's setup, so the partner package never imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup


@dataclass(frozen=True)
class PartnerTab:
    key: str
    title: str
    render: Callable  # (partner) -> HTML of the tab's body
    order: int = 100
    visible: Callable = lambda user: True  # noqa: E731

    def html(self, partner) -> Markup:
        """The tab's body; renderers return rendered (already escaped) template output."""
        return Markup(self.render(partner))


def _tabs(app) -> dict[str, PartnerTab]:
    return app.extensions.setdefault("crm.partner_tabs", {})


def register_tab(state_or_app, tab: PartnerTab) -> None:
    app = getattr(state_or_app, "app", state_or_app)
    _tabs(app)[tab.key] = tab


def tabs_for(app, user) -> list[PartnerTab]:
    return sorted((t for t in _tabs(app).values() if t.visible(user)), key=lambda t: t.order)
