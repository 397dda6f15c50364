"""Deals as what an interaction is about (crm.interactions.subjects): labels and links of
deals, who may link an interaction to one, and the subject picker's search."""

from __future__ import annotations

from flask import current_app, has_request_context, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from crm.core.policy import may, visible
from crm.deals.models import Deal
from crm.extensions import db
from crm.interactions.subjects import SubjectType


def _label(deal_no: str, title: str) -> str:
    return f"{deal_no} — {title}" if title else deal_no


def describe(ids: list[int]) -> dict[int, tuple[str, str | None]]:
    rows = db.session.execute(
        select(Deal.id, Deal.deal_no, Deal.title).where(Deal.id.in_(ids))
    ).all()
    return {deal_id: (_label(no, title), _card_url(deal_id)) for deal_id, no, title in rows}


def _card_url(deal_id: int) -> str:
    if has_request_context():
        return url_for("deals.detail", deal_id=deal_id)
    # Jobs and e-mails describe subjects too: the card's path, without a request.
    return current_app.url_map.bind("").build("deals.detail", {"deal_id": deal_id})


def can_view(user, object_id) -> bool:
    deal = db.session.get(Deal, object_id) if isinstance(object_id, int) else None
    return deal is not None and may(user, "deal.view", deal)


def search(user, text: str, limit: int = 20) -> list[tuple[int, str]]:
    """The deals `user` may see whose number or title holds `text`, newest first."""
    pattern = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    stmt = select(Deal.id, Deal.deal_no, Deal.title).where(
        or_(Deal.deal_no.ilike(pattern, escape="\\"), Deal.title.ilike(pattern, escape="\\"))
    )
    stmt = visible(user, Deal, stmt).order_by(Deal.id.desc()).limit(limit)
    return [(deal_id, _label(no, title)) for deal_id, no, title in db.session.execute(stmt)]


SUBJECT = SubjectType("deal", _l("Deal"), describe, can_view, search, order=10)
