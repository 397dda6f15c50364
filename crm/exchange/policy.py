"""Who may use data exchange (file imports and exports): admins."""

from __future__ import annotations

from crm.core.policy import register_rules

RULES = {
    "exchange.use": lambda user, obj=None: user.role == "admin",
}


def register(state) -> None:
    register_rules(state, RULES)
