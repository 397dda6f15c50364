"""Who may see, record and change interactions, and whose calendars a user may open.

A manager sees the interactions he is responsible for and those he takes part in; admins,
marketers and viewers read all. Only admins and the responsible manager change one."""

from __future__ import annotations

from sqlalchemy import or_, select

from crm.core.policy import register_rows, register_rules
from crm.interactions.models import Interaction, Participant


def participating(user_id: int):
    return select(Participant.interaction_id).where(Participant.user_id == user_id)


def visible_rows(user):
    """SQL condition for the interactions `user` may see (None: all of them)."""
    if user.role == "manager":
        return or_(
            Interaction.responsible_id == user.id, Interaction.id.in_(participating(user.id))
        )
    return None


def may_view(user, i: Interaction) -> bool:
    if user.role != "manager" or i.responsible_id == user.id:
        return True
    return any(p.user_id == user.id for p in i.participants)


def may_edit(user, i: Interaction) -> bool:
    return user.role == "admin" or (user.role == "manager" and i.responsible_id == user.id)


RULES = {
    "interaction.view": may_view,
    "interaction.edit": may_edit,
    "interaction.create": lambda user, obj=None: user.role in ("admin", "manager"),
    # Managers see their own calendar only; the other roles may look at anyone's.
    "calendar.view_others": lambda user, obj=None: user.role != "manager",
}


def register(state) -> None:
    register_rules(state, RULES)
    register_rows(state, {Interaction: visible_rows})
