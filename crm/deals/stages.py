"""A deal's way through its kind's process: moving between stages (a process kind's stages go
strictly in order, a non-process kind's move freely), the result (won; lost with a reason) and
reopening, each kept in the stage history with who did it and when."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from crm.core import audit, versioning
from crm.core.errors import DomainError
from crm.core.formats import fmt_date
from crm.core.params import BadValue, OutOfRange, check_date, parse_date, parse_money
from crm.core.policy import require
from crm.core.timeutil import site_today, utcnow
from crm.deals.models import WON_POSITION, Deal, DealStage, DealStageEntry, LossReason
from crm.extensions import db


def _ensure_can_move(actor, deal: Deal) -> None:
    require(
        actor,
        "deal.move",
        deal,
        _("Only the deal's manager, its participants or an admin can move it."),
    )


def _ensure_open(deal: Deal) -> None:
    if deal.status != "open":
        raise DomainError(_("The deal is closed: reopen it first."))


def enter_stage(actor, deal: Deal, stage: DealStage | None, *, at: datetime | None = None) -> None:
    """End the current stay (if any) and start one in `stage`; the deal's furthest position
    follows. Used for the first stage of a new deal too."""
    at = at or utcnow()
    _leave_stage(deal, at)
    deal.stage_id = stage.id if stage is not None else None
    deal.stage = stage
    deal.stage_entered_at = at
    if stage is not None:
        deal.reached_position = max(deal.reached_position or 0, stage.position)
    deal.history.append(
        DealStageEntry(stage_id=deal.stage_id, entered_at=at, user_id=getattr(actor, "id", None))
    )


def _leave_stage(deal: Deal, at: datetime) -> None:
    for entry in deal.history:
        if entry.left_at is None:
            entry.left_at = at


def next_stage(deal: Deal) -> DealStage | None:
    """The stage a process deal goes to next (None at the last one)."""
    stages = deal.kind.stages
    if deal.stage is None:
        return stages[0] if stages else None
    return next((s for s in stages if s.position > deal.stage.position), None)


def check_move(deal: Deal, stage: DealStage) -> None:
    """Refuse a move the kind's process does not allow, saying which stage comes next."""
    if stage.kind_id != deal.kind_id:
        raise DomainError(_("That stage belongs to another kind of deal."))
    if not deal.kind.is_process or stage.id == deal.stage_id:
        return
    expected = next_stage(deal)
    if expected is not None and stage.id == expected.id:
        return
    if deal.stage is not None and stage.position < deal.stage.position:
        raise DomainError(
            _(
                "The stages of «%(kind)s» go strictly in order: a deal does not go back to "
                "«%(stage)s».",
                kind=deal.kind.name,
                stage=stage.name,
            )
        )
    raise DomainError(
        _(
            "The stages of «%(kind)s» go strictly in order: the next stage is «%(next)s», "
            "«%(stage)s» cannot be skipped to.",
            kind=deal.kind.name,
            next=expected.name if expected is not None else "—",
            stage=stage.name,
        )
    )


def move(actor, deal: Deal, stage_id: int, *, version: int | None = None) -> Deal:
    """Move an open deal to another stage of its kind."""
    _ensure_can_move(actor, deal)
    _ensure_open(deal)
    stage = db.session.get(DealStage, stage_id) if isinstance(stage_id, int) else None
    if stage is None:
        raise DomainError(_("Choose a stage of this kind of deal."))
    check_move(deal, stage)
    if stage.id == deal.stage_id:
        return deal
    with versioning.saving(deal, version):
        old = deal.stage.name if deal.stage is not None else ""
        enter_stage(actor, deal, stage)
        audit.record(
            actor,
            "update",
            deal,
            changes={"stage": [old, stage.name]},
            summary=f"stage: {stage.name}"[:500],
        )
    return deal


def _closing_date(deal: Deal, raw) -> date:
    if raw in (None, ""):
        day = site_today()
    else:
        try:
            day = check_date(raw) if isinstance(raw, date) else parse_date(raw)
        except (BadValue, OutOfRange) as exc:
            raise DomainError(f"{exc}.", {"closed_on": [f"{exc}."]}) from None
    if day < deal.created_on:
        message = _(
            "A deal cannot close before it was opened (%(day)s).", day=fmt_date(deal.created_on)
        )
        raise DomainError(message, {"closed_on": [message]})
    return day


def win(actor, deal: Deal, *, closed_on=None, amount=None, version: int | None = None) -> Deal:
    """Mark an open deal won (a process deal from its last stage); `amount`: the amount won."""
    _ensure_can_move(actor, deal)
    _ensure_open(deal)
    stages = deal.kind.stages
    if deal.kind.is_process and stages and deal.stage_id != stages[-1].id:
        raise DomainError(
            _(
                "The stages of «%(kind)s» go strictly in order: the deal is won from its last "
                "stage, «%(stage)s».",
                kind=deal.kind.name,
                stage=stages[-1].name,
            )
        )
    day = _closing_date(deal, closed_on)
    won_amount = deal.amount
    if amount not in (None, ""):
        try:
            won_amount = parse_money(amount)
        except (BadValue, OutOfRange) as exc:
            raise DomainError(f"{exc}.", {"amount": [f"{exc}."]}) from None
        if won_amount < 0:
            message = _("The amount cannot be negative.")
            raise DomainError(message, {"amount": [message]})
    with versioning.saving(deal, version):
        before = {"status": deal.status, "closed_on": deal.closed_on, "amount": deal.amount}
        _leave_stage(deal, utcnow())
        deal.status, deal.closed_on, deal.amount = "won", day, won_amount
        deal.reached_position = WON_POSITION
        after = {"status": deal.status, "closed_on": deal.closed_on, "amount": deal.amount}
        audit.record(actor, "update", deal, changes=audit.diff(before, after), summary="won")
    return deal


def lose(
    actor, deal: Deal, *, reason_id, comment: str = "", closed_on=None, version: int | None = None
) -> Deal:
    """Mark an open deal lost at its current stage; the reason is required."""
    _ensure_can_move(actor, deal)
    _ensure_open(deal)
    reason = None
    if isinstance(reason_id, int) or (isinstance(reason_id, str) and reason_id.isdigit()):
        reason = db.session.get(LossReason, int(reason_id)) if len(str(reason_id)) < 10 else None
    if reason is None or not reason.is_active:
        message = _("Choose the reason the deal was lost.")
        raise DomainError(message, {"loss_reason_id": [message]})
    day = _closing_date(deal, closed_on)
    with versioning.saving(deal, version):
        before = {"status": deal.status, "closed_on": deal.closed_on, "loss_reason": ""}
        _leave_stage(deal, utcnow())
        deal.status, deal.closed_on = "lost", day
        deal.loss_reason_id, deal.loss_reason = reason.id, reason
        deal.loss_comment = (comment or "").strip()[:10_000]
        after = {"status": "lost", "closed_on": day, "loss_reason": reason.name}
        audit.record(actor, "update", deal, changes=audit.diff(before, after), summary="lost")
    return deal


def reopen(actor, deal: Deal, *, version: int | None = None) -> Deal:
    """Open a won or lost deal again, at the stage it closed at (a won deal without one: the
    last stage); its furthest stage is what its history shows."""
    _ensure_can_move(actor, deal)
    if deal.status == "open":
        return deal
    with versioning.saving(deal, version):
        before = {"status": deal.status, "closed_on": deal.closed_on}
        stage = deal.stage
        if stage is None and deal.kind.stages:
            stage = deal.kind.stages[-1]
        deal.status, deal.closed_on = "open", None
        deal.loss_reason_id, deal.loss_reason, deal.loss_comment = None, None, ""
        deal.reached_position = furthest_in_history(deal)
        enter_stage(actor, deal, stage)
        after = {"status": "open", "closed_on": None}
        audit.record(actor, "update", deal, changes=audit.diff(before, after), summary="reopened")
    return deal


def furthest_in_history(deal: Deal) -> int:
    if deal.id is None:
        return 0
    found = db.session.execute(
        select(func.max(DealStage.position))
        .join(DealStageEntry, DealStageEntry.stage_id == DealStage.id)
        .where(DealStageEntry.deal_id == deal.id)
    ).scalar()
    return found or 0
