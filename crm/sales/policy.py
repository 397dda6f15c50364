"""Who may read the product catalogue: everyone signed in (products, their stock and sales by
month are the company's common reference; no partner is named on the product pages)."""

from __future__ import annotations

from crm.core.policy import register_rules

RULES = {
    "product.view": lambda user, obj=None: True,
}


def register(state) -> None:
    register_rules(state, RULES)
