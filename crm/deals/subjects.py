"""Deals as a subject of interactions (crm/interactions/subjects.py): how an interaction that
is about a deal names it and links to it, who may see it, the subject picker's search, and the
"New deal from this chain" action on an interaction's page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, or_, select

from crm.core.policy import may, visible
from crm.core.text import fold
from crm.deals.links import create_url, deal_url_prefix
from crm.deals.models import Deal
from crm.extensions import db
from crm.interactions.subjects import SubjectType
from crm.partners.models import Partner

SEARCH_LIMIT = 20


def deal_label(deal_no: str, title: str, partner_name: str) -> str:
    """ "CRM-000012 — Поставка станков / ООО Ромашка" (the title left out when empty)."""
    head = f"{deal_no} — {title}" if title else deal_no
    return f"{head} / {partner_name}" if partner_name else head


def _labelled():
    return select(Deal.id, Deal.deal_no, Deal.title, Partner.name).join(
        Partner, Partner.id == Deal.partner_id
    )


def _rows(stmt) -> list[tuple[int, str]]:
    return [(r.id, deal_label(r.deal_no, r.title, r.name)) for r in db.session.execute(stmt)]


def describe(ids: list[int]) -> dict[int, tuple[str, str | None]]:
    """{id: (label, card URL)} of the deals that exist among `ids`."""
    if not ids:
        return {}
    prefix = deal_url_prefix()
    rows = _rows(_labelled().where(Deal.id.in_(ids)))
    return {deal_id: (label, f"{prefix}{deal_id}") for deal_id, label in rows}


def can_view(user, deal_id: int) -> bool:
    deal = db.session.get(Deal, deal_id)
    return deal is not None and may(user, "deal.view", deal)


def search(user, text: str, limit: int = SEARCH_LIMIT) -> list[tuple[int, str]]:
    """Deals `user` may see whose number, title or partner's name contains `text`: open ones
    first, then the latest."""
    stmt = visible(user, Deal, _labelled())
    words = (text or "").strip()
    if words:
        stmt = stmt.where(
            or_(
                Deal.deal_no.icontains(words, autoescape=True),
                Deal.title.icontains(words, autoescape=True),
                Partner.name_norm.contains(fold(words), autoescape=True),
            )
        )
    stmt = stmt.order_by(
        case((Deal.status == "open", 0), else_=1), Deal.created_on.desc(), Deal.id.desc()
    )
    return _rows(stmt.limit(limit))


def create_from(user, interaction) -> str | None:
    """The new-deal form for `interaction`'s chain, for users who may open deals."""
    if not may(user, "deal.create"):
        return None
    return create_url(partner_id=interaction.partner_id, from_interaction=interaction.id)


SUBJECT = SubjectType(
    "deal",
    _l("Deal"),
    describe,
    can_view=can_view,
    search=search,
    order=10,
    create_from=create_from,
    create_title=_l("New deal from this chain"),
)
