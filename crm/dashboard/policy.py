"""Whose day a user may look at: a manager his own; admins, marketers and viewers anyone's, or
the whole team's."""

from __future__ import annotations

from crm.core.policy import register_rules

RULES = {
    "dashboard.view_others": lambda user, obj=None: user.role != "manager",
}


def register(state) -> None:
    register_rules(state, RULES)
