"""Writes and reads of the stages of a kind of deal (its sales process) the admins keep: name,
order, default probability. Positions are always 1, 2, 3… without gaps; when they change, the
deals' `reached_position` (which stores positions) is recomputed from their stage history
(`recompute_reached`). Moving a deal between stages is crm/deals/stages.py."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from crm.core import audit
from crm.core.errors import DomainError, FieldErrors
from crm.core.params import BadValue, OutOfRange, parse_decimal
from crm.core.text import fold
from crm.deals.classifiers.names import (
    clean_name,
    ensure_admin,
    taken_meanwhile,
    unique,
)
from crm.deals.models import WON_POSITION, Deal, DealKind, DealStage, DealStageEntry
from crm.extensions import db

MAX_STAGES = 50  # a sales process, not a list: more columns than any board can show


def _parse_probability(raw, errors: FieldErrors, field: str = "probability") -> Decimal:
    """A default probability: a percentage 0–100 with at most 2 decimals (empty: 0)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return Decimal(0)
    if isinstance(raw, str):
        raw = raw.strip().removesuffix("%").strip()
    try:
        value = parse_decimal(raw, places=2, digits=3, label=_("The probability"))
    except OutOfRange:
        value = Decimal(1000)
    except BadValue:
        errors.add(field, _("Enter the probability as a number from 0 to 100."))
        return Decimal(0)
    if not Decimal(0) <= value <= Decimal(100):
        errors.add(field, _("The probability must be from 0 to 100 percent."))
        return Decimal(0)
    return value


def _stage_snapshot(stage: DealStage) -> dict:
    return {"name": stage.name, "probability": stage.probability, "position": stage.position}


def _stage_name(kind: DealKind, raw, errors: FieldErrors, exclude_id: int | None = None) -> str:
    name = clean_name(raw, errors)
    if name:
        other = next(
            (s for s in kind.stages if s.id != exclude_id and fold(s.name) == fold(name)), None
        )
        if other is not None:
            errors.add(
                "name",
                _(
                    "«%(kind)s» already has a stage named «%(name)s».",
                    kind=kind.name,
                    name=other.name,
                ),
            )
    return name


def add_stage(actor, kind: DealKind, name, probability=None) -> DealStage:
    """A new stage at the end of the kind's process (move it up to place it elsewhere)."""
    ensure_admin(actor)
    errors = FieldErrors()
    name = _stage_name(kind, name, errors)
    value = _parse_probability(probability, errors)
    if len(kind.stages) >= MAX_STAGES:
        errors.add("name", _("A kind of deal has at most %(n)s stages.", n=MAX_STAGES))
    errors.raise_if_any()
    position = max((s.position for s in kind.stages), default=0) + 1
    stage = DealStage(position=position, name=name, probability=value)
    with unique("name", taken_meanwhile()):
        kind.stages.append(stage)
    audit.record(
        actor,
        "create",
        stage,
        root=kind,
        changes=audit.diff({}, _stage_snapshot(stage)),
        summary=f"stage {stage.name} of {kind.name}"[:500],
    )
    return stage


def update_stage(actor, stage: DealStage, *, name, probability, position=None) -> DealStage:
    """Rename a stage, set its default probability and (when `position` differs) move it
    there, the stages between shifting by one."""
    ensure_admin(actor)
    kind = stage.kind
    errors = FieldErrors()
    name = _stage_name(kind, name, errors, exclude_id=stage.id)
    value = _parse_probability(probability, errors)
    target = None
    if position not in (None, ""):
        target = _parse_position(kind, position, errors)
    errors.raise_if_any()
    before = _stage_snapshot(stage)
    with unique("name", taken_meanwhile()):
        stage.name, stage.probability = name, value
    if target is not None and target != stage.position:
        order = [s for s in kind.stages if s.id != stage.id]
        order.insert(target - 1, stage)
        _apply_order(kind, order)
    audit.record(
        actor, "update", stage, root=kind, changes=audit.diff(before, _stage_snapshot(stage))
    )
    return stage


def _parse_position(kind: DealKind, raw, errors: FieldErrors) -> int | None:
    count = len(kind.stages)
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit() and len(text) < 10 and 1 <= int(text) <= count):
        errors.add("position", _("The position is a whole number from 1 to %(n)s.", n=count))
        return None
    return int(text)


def move_stage(actor, stage: DealStage, delta: int) -> DealStage:
    """Move a stage `delta` places (-1: up, +1: down); at either end nothing moves."""
    ensure_admin(actor)
    kind = stage.kind
    order = list(kind.stages)
    index = order.index(stage)
    target = min(max(index + delta, 0), len(order) - 1)
    if target == index:
        return stage
    before = stage.position
    order.insert(target, order.pop(index))
    _apply_order(kind, order)
    audit.record(actor, "update", stage, root=kind, changes={"position": [before, stage.position]})
    return stage


def reorder_stages(actor, kind: DealKind, stage_ids: list[int]) -> DealKind:
    """Put the kind's stages in the order of `stage_ids` (each of its stages exactly once)."""
    ensure_admin(actor)
    by_id = {s.id: s for s in kind.stages}
    if sorted(stage_ids) != sorted(by_id):
        message = _("The order must name each stage of «%(kind)s» once.", kind=kind.name)
        raise DomainError(message, {"position": [message]})
    before = [s.name for s in kind.stages]
    _apply_order(kind, [by_id[i] for i in stage_ids])
    after = [s.name for s in sorted(kind.stages, key=lambda s: s.position)]
    audit.record(actor, "update", kind, changes=audit.diff({"stages": before}, {"stages": after}))
    return kind


def _apply_order(kind: DealKind, order: list[DealStage]) -> None:
    """Give the stages positions 1, 2, 3… in `order` and recompute the deals' furthest
    positions. Each (kind, position) is unique and PostgreSQL checks that row by row, so the
    stages that move first park at negative positions, then take their new ones."""
    moving = [(s, i) for i, s in enumerate(order, 1) if s.position != i]
    if not moving:
        return
    for n, (stage, _new) in enumerate(moving, 1):
        stage.position = -n
    db.session.flush()
    for stage, new in moving:
        stage.position = new
    db.session.flush()
    kind.stages.sort(key=lambda s: s.position)
    recompute_reached(kind.id)


def stage_in_use(stage: DealStage) -> bool:
    """Is a deal at this stage now, or was one ever (its history names it)?"""
    now = db.session.execute(select(Deal.id).where(Deal.stage_id == stage.id).limit(1)).first()
    if now is not None:
        return True
    was = db.session.execute(
        select(DealStageEntry.id).where(DealStageEntry.stage_id == stage.id).limit(1)
    ).first()
    return was is not None


def delete_stage(actor, stage: DealStage) -> None:
    """Delete a stage no deal is or was at; the stages after it move up one place."""
    ensure_admin(actor)
    kind = stage.kind
    if stage_in_use(stage):
        message = _(
            "Deals are or were at the stage «%(name)s», so it cannot be deleted: their history "
            "needs it. Keep it, or rename it.",
            name=stage.name,
        )
        raise DomainError(message, {"delete": [message]})
    audit.record(
        actor,
        "delete",
        stage,
        root=kind,
        changes=audit.diff(_stage_snapshot(stage), {}),
        summary=f"deleted stage {stage.name} of {kind.name}"[:500],
    )
    kind.stages.remove(stage)  # delete-orphan: the row goes at the flush
    db.session.flush()
    _apply_order(kind, list(kind.stages))


def recompute_reached(kind_id: int) -> int:
    """Set `reached_position` of the kind's deals that are not won to the highest position
    among the stages in their history (and their current stage: an imported deal may have no
    history) — run whenever the kind's positions change, since the column stores positions.
    One UPDATE with a correlated subquery instead of loading the deals: a kind can have
    hundreds of thousands of them. Won deals keep WON_POSITION (they reached every stage).

    The deals' versions are not bumped: no field a user edits changes, and bumping would make
    every open deal form of the kind stale. Returns the number of deals updated."""
    # Two levels down from the UPDATE: say that `deal` is the outer row, or SQLAlchemy would
    # add the table to this subquery's FROM (every deal's history).
    in_history = (
        select(DealStageEntry.stage_id)
        .where(DealStageEntry.deal_id == Deal.id)
        .correlate_except(DealStageEntry)
    )
    furthest = (
        select(func.coalesce(func.max(DealStage.position), 0))
        .where(or_(DealStage.id == Deal.stage_id, DealStage.id.in_(in_history)))
        .scalar_subquery()
    )
    result = db.session.execute(
        update(Deal)
        .where(Deal.kind_id == kind_id, Deal.status != "won")
        # updated_at as it was: the deal itself did not change (the column's onupdate would).
        .values(reached_position=furthest, updated_at=Deal.updated_at)
        .execution_options(synchronize_session=False)
    )
    # Deals already loaded in this session would keep the old value.
    for obj in list(db.session.identity_map.values()):
        if (
            isinstance(obj, Deal)
            and obj.kind_id == kind_id
            and obj.reached_position != WON_POSITION
        ):
            db.session.expire(obj, ["reached_position"])
    return result.rowcount


def stage_usage(kind: DealKind) -> dict[int, tuple[int, bool]]:
    """For each stage of `kind`: how many deals are at it now, and whether any deal is or was
    (then it cannot be deleted)."""
    ids = [s.id for s in kind.stages]
    if not ids:
        return {}
    now = dict(
        db.session.execute(
            select(Deal.stage_id, func.count())
            .where(Deal.stage_id.in_(ids))
            .group_by(Deal.stage_id)
        ).all()
    )
    was = set(
        db.session.execute(
            select(DealStageEntry.stage_id).where(DealStageEntry.stage_id.in_(ids)).distinct()
        ).scalars()
    )
    return {i: (now.get(i, 0), i in was or now.get(i, 0) > 0) for i in ids}
