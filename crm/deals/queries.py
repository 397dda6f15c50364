"""Reads of deals for the pages: the filtered list (and its download), a deal's card (stage
history with days, linked documents, the timeline of its interactions) and the choices the
deal form offers. Who may see which deal is crm/deals/policy.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import selectinload

from crm.auth.models import User
from crm.auth.policy import responsible_users_clause
from crm.core.paging import Page, capped_page
from crm.core.policy import rows_clause, visible
from crm.core.text import fold
from crm.core.timeutil import utcnow
from crm.deals.filters import DealFilter
from crm.deals.models import (
    Deal,
    DealDocument,
    DealKind,
    DealRole,
    DealStage,
    LossReason,
)
from crm.deals.stale import days_in_stage, in_stage, is_stale, stage_medians, stale_condition
from crm.extensions import db
from crm.partners.models import Partner

EXPORT_LIMIT = 100_000  # rows of a list download: a bigger one is a data-exchange export


def get_deal(deal_id: int) -> Deal | None:
    """A deal with what its card shows (contacts, participants, history, documents)."""
    return db.session.execute(
        select(Deal)
        .where(Deal.id == deal_id)
        .options(
            selectinload(Deal.contacts),
            selectinload(Deal.participants),
            selectinload(Deal.history),
            selectinload(Deal.documents),
        )
    ).scalar_one_or_none()


# --- the list -----------------------------------------------------------------------------


def _stale_clause(now: datetime):
    """Open deals over the stale factor times their stage's median (crm.deals.stale)."""
    condition = stale_condition(stage_medians(None, now), now)
    return condition if condition is not None else false()


def list_stmt(user, flt: DealFilter, now: datetime | None = None) -> Select:
    """The ids of the deals the filter finds among those `user` may see (unordered)."""
    stmt = select(Deal.id)
    seen = rows_clause(user, Deal)
    if seen is not None:
        stmt = stmt.where(seen)
    if flt.status != "all":
        stmt = stmt.where(Deal.status == flt.status)
    if flt.kind:
        stmt = stmt.where(Deal.kind_id == flt.kind)
    if flt.stage:
        stmt = stmt.where(Deal.stage_id == flt.stage)
    if flt.manager:
        stmt = stmt.where(Deal.manager_id == flt.manager)
    if flt.partner:
        stmt = stmt.where(Deal.partner_id == flt.partner)
    if flt.reached:
        stmt = stmt.where(Deal.reached_position >= flt.reached)
    if flt.reason:
        stmt = stmt.where(Deal.loss_reason_id == flt.reason)
    for column, start, end in (
        (Deal.created_on, flt.created_from, flt.created_to),
        (Deal.closed_on, flt.closed_from, flt.closed_to),
        (Deal.expected_close, flt.expected_from, flt.expected_to),
    ):
        if start:
            stmt = stmt.where(column >= start)
        if end:
            stmt = stmt.where(column <= end)
    if flt.stale:
        stmt = stmt.where(_stale_clause(now or utcnow()))
    if flt.q:
        words = fold(flt.q).split()[:8]
        stmt = stmt.join(Partner, Partner.id == Deal.partner_id)
        for word in words:
            # SQLite's lower() folds ASCII only: the partner's search text is folded already,
            # a deal's number and title are matched as typed (and case-blind on PostgreSQL).
            stmt = stmt.where(
                or_(
                    Deal.deal_no.ilike(f"%{_escaped(word)}%", escape="\\"),
                    Deal.title.ilike(f"%{_escaped(word)}%", escape="\\"),
                    Partner.search_text.contains(word, autoescape=True),
                )
            )
    for clause in flt.extra_clauses():  # the partner scopes ("segment") on partner_id
        stmt = stmt.where(clause)
    return stmt


def _escaped(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


ORDERS = {
    "-created": (Deal.created_on.desc(), Deal.id.desc()),
    "created": (Deal.created_on, Deal.id),
    "expected": (Deal.expected_close.is_(None), Deal.expected_close, Deal.id),
    "-amount": (Deal.amount.desc(), Deal.id.desc()),
    "no": (Deal.deal_no, Deal.id),
}


def ordered(user, flt: DealFilter, now: datetime | None = None) -> Select:
    return list_stmt(user, flt, now).order_by(*ORDERS.get(flt.sort, ORDERS["-created"]))


def deal_page(user, flt: DealFilter, per_page: int | None = None) -> Page:
    """One page of the list (matches counted up to COUNT_LIMIT), the deals loaded whole."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    page = capped_page(ordered(user, flt), flt.page, per_page)
    page.items = load(page.items)
    return page


def load(ids: list[int]) -> list[Deal]:
    """Deals by id in the given order, with partner, kind, stage and manager (joined)."""
    if not ids:
        return []
    by_id = {d.id: d for d in db.session.execute(select(Deal).where(Deal.id.in_(ids))).scalars()}
    return [by_id[i] for i in ids if i in by_id]


def export_rows(user, flt: DealFilter) -> Iterator[tuple]:
    """Every deal the filter finds (up to EXPORT_LIMIT), as the download's rows."""
    ids = ordered(user, flt).subquery()
    stmt = (
        select(
            Deal.deal_no,
            Deal.title,
            Partner.name,
            DealKind.name,
            DealStage.name,
            Deal.status,
            Deal.amount,
            Deal.created_on,
            Deal.expected_close,
            Deal.closed_on,
            User.name,
            User.email,
            LossReason.name,
        )
        .join(ids, ids.c.id == Deal.id)
        .join(Partner, Partner.id == Deal.partner_id)
        .join(DealKind, DealKind.id == Deal.kind_id)
        .outerjoin(DealStage, DealStage.id == Deal.stage_id)
        .outerjoin(User, User.id == Deal.manager_id)
        .outerjoin(LossReason, LossReason.id == Deal.loss_reason_id)
        .order_by(*ORDERS.get(flt.sort, ORDERS["-created"]))
        .limit(EXPORT_LIMIT)
    )
    yield from db.session.execute(stmt)


# --- choices --------------------------------------------------------------------------------


def kinds(active_only: bool = False) -> list[DealKind]:
    stmt = select(DealKind).options(selectinload(DealKind.stages)).order_by(DealKind.name)
    if active_only:
        stmt = stmt.where(DealKind.is_active.is_(True))
    return list(db.session.execute(stmt).scalars())


def stage_options(kind_id: int | None) -> list[tuple[int, str]]:
    """(id, label) of the stages the list filter offers: the chosen kind's, else every kind's
    as "Kind: Stage"."""
    stmt = (
        select(DealStage.id, DealStage.name, DealKind.name)
        .join(DealKind, DealKind.id == DealStage.kind_id)
        .order_by(DealKind.name, DealStage.position)
    )
    if kind_id:
        stmt = stmt.where(DealStage.kind_id == kind_id)
    return [
        (sid, name if kind_id else f"{kind}: {name}")
        for sid, name, kind in db.session.execute(stmt)
    ]


def assignable_users() -> list[User]:
    return list(
        db.session.execute(
            select(User)
            .where(User.active.is_(True), responsible_users_clause())
            .order_by(User.name, User.email)
        ).scalars()
    )


def roles() -> list[DealRole]:
    return list(
        db.session.execute(
            select(DealRole).where(DealRole.is_active.is_(True)).order_by(DealRole.name)
        ).scalars()
    )


def loss_reasons() -> list[LossReason]:
    return list(
        db.session.execute(
            select(LossReason).where(LossReason.is_active.is_(True)).order_by(LossReason.name)
        ).scalars()
    )


def all_loss_reasons() -> list[tuple[int, str]]:
    return [
        tuple(r)
        for r in db.session.execute(
            select(LossReason.id, LossReason.name).order_by(LossReason.name)
        )
    ]


# --- the card -------------------------------------------------------------------------------


@dataclass
class Stay:
    """One row of the card's stage history."""

    stage: str
    entered_at: datetime
    left_at: datetime | None
    user: str
    days: int


def history(deal: Deal, now: datetime | None = None) -> list[Stay]:
    """The deal's stays in its stages, oldest first; a stay still going counts to `now`."""
    now = now or utcnow()
    return [
        Stay(
            e.stage.name if e.stage is not None else "—",
            e.entered_at,
            e.left_at,
            e.user.display_name if e.user is not None else "—",
            days_in_stage(e.entered_at, e.left_at or now),
        )
        for e in deal.history
    ]


def stale_now(deal: Deal, now: datetime | None = None) -> tuple[int, bool]:
    """(days in the current stage, whether that makes the open deal stale); reads the open
    deals of its stage only."""
    now = now or utcnow()
    days = days_in_stage(deal.stage_entered_at, now)
    if not deal.is_open:
        return days, False
    key = (deal.kind_id, deal.stage_id)
    count = db.session.execute(
        select(func.count()).where(Deal.status == "open", in_stage(key))
    ).scalar_one()
    medians = stage_medians([deal.kind_id], now, {key: count}) if count else {}
    return days, is_stale(days, medians.get(key))


def documents(deal: Deal) -> list:
    """The linked sales documents (number, date, amount), newest first."""
    from crm.sales.models import SalesDocument

    return list(
        db.session.execute(
            select(SalesDocument.id, SalesDocument.doc_no, SalesDocument.date, SalesDocument.total)
            .join(DealDocument, DealDocument.document_id == SalesDocument.id)
            .where(DealDocument.deal_id == deal.id)
            .order_by(SalesDocument.date.desc(), SalesDocument.id.desc())
        )
    )


def documents_total(rows) -> Decimal:
    return sum((r.total for r in rows), Decimal("0"))


TIMELINE_LIMIT = 200


def timeline(deal: Deal, user, limit: int = TIMELINE_LIMIT):
    """The interactions about the deal that `user` may see, newest first (and whether more
    than `limit` exist)."""
    from crm.interactions.models import Interaction
    from crm.interactions.queries import load as load_interactions

    stmt = select(Interaction.id).where(
        Interaction.subject_type == "deal", Interaction.subject_id == deal.id
    )
    stmt = visible(user, Interaction, stmt)
    stmt = stmt.order_by(Interaction.starts_at.desc(), Interaction.id.desc()).limit(limit + 1)
    ids = list(db.session.execute(stmt).scalars())
    return load_interactions(ids[:limit]), len(ids) > limit


def contact_rows(deal: Deal) -> list[dict]:
    return [
        {"contact_person_id": str(c.contact_person_id), "role_id": str(c.role_id or "")}
        for c in deal.contacts
    ]


def participant_rows(deal: Deal) -> list[dict]:
    return [{"user_id": str(p.user_id), "role_id": str(p.role_id or "")} for p in deal.participants]
