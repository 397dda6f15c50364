"""The partner card's header facts: what a user wants at a glance before he calls — debt and
overdue debt, the last and the next interaction — and one-tap actions. Higher domains add
theirs with `register_fact` from their blueprint's setup (sales: the debt; interactions: last
and next, "Log a call", "Plan"), so the partner package never imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup

from crm.core.registry import RegistryKey


@dataclass(frozen=True)
class CardFact:
    key: str
    render: Callable  # (partner) -> HTML of the block ("" when there is nothing to say)
    order: int = 100
    visible: Callable = lambda user: True  # noqa: E731


FACTS: RegistryKey[CardFact] = RegistryKey("crm.partner_card_facts")


def register_fact(state_or_app, fact: CardFact) -> None:
    FACTS.register(state_or_app, fact)


def facts_html(app, user, partner) -> list[Markup]:
    """The header blocks for `partner` as `user` sees them, in order; empty ones left out."""
    blocks = (Markup(f.render(partner)) for f in FACTS.of(app) if f.visible(user))
    return [b for b in blocks if b.strip()]
