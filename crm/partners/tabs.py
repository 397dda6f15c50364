"""Tabs of the partner card. Higher domains add theirs (interactions, deals, sales…) with
`register_tab` from their blueprint's setup, so the partner package never imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup

from crm.core.registry import RegistryKey


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


TABS: RegistryKey[PartnerTab] = RegistryKey("crm.partner_tabs")


def register_tab(state_or_app, tab: PartnerTab) -> None:
    TABS.register(state_or_app, tab)


def tabs_for(app, user) -> list[PartnerTab]:
    return [t for t in TABS.of(app) if t.visible(user)]
