"""What higher domains add to the product pages: facts in the card's header (an ABC/XYZ class),
sections below the card's own (a class history), and filters of the product list. They
register from their blueprint's setup, so the sales package never imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup

from crm.core.filters import ExtraFilter
from crm.core.registry import RegistryKey


@dataclass(frozen=True)
class ProductFact:
    key: str
    render: Callable  # (product) -> HTML of the block ("" when there is nothing to say)
    order: int = 100
    visible: Callable = lambda user: True  # noqa: E731


@dataclass(frozen=True)
class ProductSection:
    key: str
    title: str
    render: Callable  # (product) -> HTML of the section's body ("" leaves the section out)
    order: int = 100
    visible: Callable = lambda user: True  # noqa: E731


FACTS: RegistryKey[ProductFact] = RegistryKey("crm.product_card_facts")
SECTIONS: RegistryKey[ProductSection] = RegistryKey("crm.product_card_sections")
# Filters of the product list; `clause(value)` is a condition on Product.
LIST_FILTERS: RegistryKey[ExtraFilter] = RegistryKey("crm.product_list_filters")


def register_fact(state_or_app, fact: ProductFact) -> None:
    FACTS.register(state_or_app, fact)


def register_section(state_or_app, section: ProductSection) -> None:
    SECTIONS.register(state_or_app, section)


def register_list_filter(state_or_app, entry: ExtraFilter) -> None:
    LIST_FILTERS.register(state_or_app, entry)


def facts_html(app, user, product) -> list[Markup]:
    """The header blocks for `product` as `user` sees them, in order; empty ones left out."""
    blocks = (Markup(f.render(product)) for f in FACTS.of(app) if f.visible(user))
    return [b for b in blocks if b.strip()]


def sections_html(app, user, product) -> list[tuple[ProductSection, Markup]]:
    """(section, body) of the registered sections `user` sees, empty ones left out."""
    out = []
    for section in SECTIONS.of(app):
        if section.visible(user):
            body = Markup(section.render(product))
            if body.strip():
                out.append((section, body))
    return out
