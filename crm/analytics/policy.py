"""Who reads the analytics and who acts on them.

Every role reads the reports over the whole company (a small team's managers see where the
business stands); the lists a report drills down to show a manager only the partners he may see
(crm.partners' visible rows), so contact details stay with whoever owns the client. Planning a
batch of calls from a list is for admins, marketers and managers (a manager's batch holds only
his own clients); recomputing the stored snapshots is for admins and marketers."""

from __future__ import annotations

from crm.core.policy import register_rules

RULES = {
    "analytics.reports": lambda user, obj=None: True,
    "analytics.plan_calls": lambda user, obj=None: user.role in ("admin", "marketer", "manager"),
    "analytics.recompute": lambda user, obj=None: user.role in ("admin", "marketer"),
}


def register(state) -> None:
    register_rules(state, RULES)
