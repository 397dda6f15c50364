"""Who reads and who shapes segments.

Every role reads the segments (a viewer too: they are how the team names "whom"); a segment's
member list shows a manager only the partners he may see (crm.partners' visible rows), so a
segment never leaks another manager's clients. Admins, marketers and managers create segments;
a segment is changed, refreshed, filled by hand and deleted by admins and marketers, and by the
manager who owns it."""

from __future__ import annotations

from crm.core.policy import register_rules

SHAPERS = ("admin", "marketer", "manager")


def may_edit(user, segment=None) -> bool:
    if user.role in ("admin", "marketer"):
        return True
    if user.role != "manager":
        return False
    return segment is None or segment.owner_id == user.id


RULES = {
    "segments.view": lambda user, obj=None: True,
    "segments.create": lambda user, obj=None: user.role in SHAPERS,
    "segments.edit": may_edit,
}


def register(state) -> None:
    register_rules(state, RULES)
