"""The interactions' fact of the partner card's header: the last and the next interaction the
user may see, and one tap to log a call or plan the next step."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from sqlalchemy import select

from crm.core.policy import may, rows_clause
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.interactions.models import OPEN_STATUSES, Interaction
from crm.partners.card import CardFact


def _first(stmt) -> Interaction | None:
    visible = rows_clause(current_user, Interaction)
    if visible is not None:
        stmt = stmt.where(visible)
    return db.session.execute(stmt.limit(1)).scalars().first()


def last_and_next(partner_id: int, now=None) -> tuple[Interaction | None, Interaction | None]:
    now = now or utcnow()
    mine = select(Interaction).where(Interaction.partner_id == partner_id)
    last = _first(
        mine.where(Interaction.status != "cancelled", Interaction.starts_at <= now).order_by(
            Interaction.starts_at.desc(), Interaction.id.desc()
        )
    )
    upcoming = _first(
        mine.where(Interaction.status.in_(OPEN_STATUSES), Interaction.starts_at > now).order_by(
            Interaction.starts_at, Interaction.id
        )
    )
    return last, upcoming


def interactions_fact(partner) -> str:
    last, upcoming = last_and_next(partner.id)
    return render_template(
        "interactions/_card_fact.html",
        partner=partner,
        last=last,
        upcoming=upcoming,
        can_create=may(current_user, "interaction.create"),
    )


FACT = CardFact("interactions", interactions_fact, 20)
