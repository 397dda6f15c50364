"""Deals on the partner card: the Deals tab (crm/partners/tabs.py) and the header's fact
"N open deals · Σ amount" (crm/partners/card.py), both limited to the deals the user may see."""

from __future__ import annotations

from decimal import Decimal

from flask import render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import case, func, select

from crm.core.policy import may, visible
from crm.core.timeutil import to_zone, user_zone, utcnow
from crm.deals.links import create_url, deal_url, list_url
from crm.deals.models import Deal
from crm.extensions import db
from crm.partners.card import CardFact
from crm.partners.tabs import PartnerTab

TAB_LIMIT = 50  # the tab lists this many; the list page (filtered by partner) has the rest


def _partner_deals(user, partner_id: int):
    return visible(user, Deal, select(Deal).where(Deal.partner_id == partner_id))


def partner_deals(user, partner_id: int, limit: int = TAB_LIMIT) -> tuple[list[Deal], int]:
    """The partner's deals `user` may see (open ones first, the nearest expected close first;
    then the closed ones, latest first) and how many there are in all."""
    stmt = _partner_deals(user, partner_id)
    ordered = stmt.order_by(
        case((Deal.status == "open", 0), else_=1),
        Deal.expected_close.is_(None),
        Deal.expected_close,
        Deal.closed_on.desc(),
        Deal.id.desc(),
    )
    deals = list(db.session.execute(ordered.limit(limit)).scalars())
    total = len(deals)
    if total == limit:
        total = db.session.execute(
            stmt.with_only_columns(func.count(Deal.id)).order_by(None)
        ).scalar_one()
    return deals, total


def open_totals(user, partner_id: int) -> tuple[int, Decimal]:
    """(count, Σ amount) of the partner's open deals `user` may see."""
    stmt = _partner_deals(user, partner_id).where(Deal.status == "open")
    count, amount = db.session.execute(
        stmt.with_only_columns(func.count(Deal.id), func.coalesce(func.sum(Deal.amount), 0))
    ).one()
    return count, Decimal(amount)


def deals_tab(partner) -> str:
    """The Deals tab: stage, amount, expected close and status of each deal."""
    deals, total = partner_deals(current_user, partner.id)
    return render_template(
        "deals/_partner_tab.html",
        partner=partner,
        deals=deals,
        total=total,
        today=to_zone(utcnow(), user_zone(current_user)).date(),
        deal_url=deal_url,
        all_url=list_url(partner=partner.id, status="all"),
        create_url=create_url(partner_id=partner.id) if may(current_user, "deal.create") else None,
    )


def deals_fact(partner) -> str:
    count, amount = open_totals(current_user, partner.id)
    if not count:
        return ""
    return render_template("deals/_card_fact.html", partner=partner, count=count, amount=amount)


TAB = PartnerTab("deals", _l("Deals"), deals_tab, 28)
FACT = CardFact("deals", deals_fact, 30)
