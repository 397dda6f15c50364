"""Who may see, create, move and change deals, and who keeps the classifiers.

A manager sees and moves the deals he is responsible for and those he takes part in; only the
responsible manager (and admins) edit a deal's fields, close it or reopen it. Admins, marketers
and viewers read every deal. The deal kinds, stages, roles and loss reasons are the admins'."""

from __future__ import annotations

from sqlalchemy import or_, select

from crm.core.policy import register_rows, register_rules
from crm.deals.models import Deal, DealParticipant


def participating(user_id: int):
    return select(DealParticipant.deal_id).where(DealParticipant.user_id == user_id)


def visible_rows(user):
    """SQL condition for the deals `user` may see (None: all of them)."""
    if user.role == "manager":
        return or_(Deal.manager_id == user.id, Deal.id.in_(participating(user.id)))
    return None


def _takes_part(user, deal: Deal) -> bool:
    return deal.manager_id == user.id or any(p.user_id == user.id for p in deal.participants)


def may_view(user, deal: Deal) -> bool:
    return user.role != "manager" or _takes_part(user, deal)


def may_move(user, deal: Deal) -> bool:
    return user.role == "admin" or (user.role == "manager" and _takes_part(user, deal))


def may_edit(user, deal: Deal) -> bool:
    return user.role == "admin" or (user.role == "manager" and deal.manager_id == user.id)


RULES = {
    "deal.view": may_view,
    "deal.move": may_move,
    "deal.edit": may_edit,
    "deal.create": lambda user, obj=None: user.role in ("admin", "manager"),
    "deal.delete": lambda user, obj=None: user.role == "admin",
    "deal.classifiers": lambda user, obj=None: user.role == "admin",
    "deal.reports": lambda user, obj=None: True,
}


def register(state) -> None:
    register_rules(state, RULES)
    register_rows(state, {Deal: visible_rows})
