"""Who may write through the JSON API: admins everything, managers their partners' data
(which of it is his is partners' rule "partner.edit"); the other roles only read."""

from __future__ import annotations

from crm.core.policy import register_rules

WRITERS = ("admin", "manager")

RULES = {
    "api.write": lambda user, obj=None: user.role in WRITERS,
    # Data that belongs to no partner (products, stock).
    "api.write_shared": lambda user, obj=None: user.role == "admin",
}


def register(state) -> None:
    register_rules(state, RULES)
