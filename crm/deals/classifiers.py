"""Writes of the deal classifiers the admins keep: deal kinds (name, process or not, active)
with their stages (name, order, default probability), participant roles and loss reasons.

Every change is audited; every broken rule is a DomainError with the field it concerns. Names
are unique case-insensitively ("Поставка" and "поставка" are one kind). Stage positions are
always 1, 2, 3… without gaps; when they change, the deals' `reached_position` (which stores
positions) is recomputed from their stage history (`recompute_reached`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from crm.core import audit
from crm.core.errors import DomainError, FieldErrors
from crm.core.params import BadValue, OutOfRange, parse_decimal, parse_text
from crm.core.policy import require
from crm.core.text import CONTROL_CHARS, fold
from crm.deals.models import (
    WON_POSITION,
    Deal,
    DealKind,
    DealRole,
    DealStage,
    DealStageEntry,
    LossReason,
)
from crm.extensions import db

NAME_MAX = 255
MAX_STAGES = 50  # a sales process, not a list: more columns than any board can show


def _ensure_admin(actor) -> None:
    require(actor, "deal.classifiers", message=_("Only an admin can change the deal settings."))


# --- names ----------------------------------------------------------------------------------


def _clean_name(raw, errors: FieldErrors, field: str = "name") -> str:
    """A trimmed, single-spaced name of at most NAME_MAX characters ("" after an error)."""
    try:
        text = parse_text(raw, max_len=NAME_MAX, label=_("The name"))
    except BadValue as exc:
        errors.add(field, f"{exc}.")
        return ""
    text = " ".join(text.split())
    if CONTROL_CHARS.search(text):
        errors.add(field, _("The name contains control characters."))
        return ""
    if not text:
        errors.add(field, _("Enter a name."))
    return text


def _same_name(model, name: str, *, exclude_id: int | None = None, where=None):
    """The row of `model` whose name equals `name` ignoring case (and ё/е), if any: these
    lists are short (dozens of rows), so they are compared in Python, which folds Cyrillic on
    SQLite too."""
    stmt = select(model.id, model.name)
    if where is not None:
        stmt = stmt.where(where)
    key = fold(name)
    for row_id, row_name in db.session.execute(stmt):
        if row_id != exclude_id and fold(row_name) == key:
            return row_name
    return None


@contextmanager
def _unique(field: str, message: str) -> Iterator[None]:
    """Write inside a savepoint: when another admin saved the same name (or a stage at the
    same place) between our check and our write, the unique constraint decides and this one
    gets `message` instead of an error page; only the savepoint is rolled back."""
    try:
        with db.session.begin_nested():
            yield
    except IntegrityError:
        raise DomainError(message, {field: [message]}) from None


def _taken_meanwhile() -> str:
    return _("Someone has just saved the same name here: reload the page and try again.")


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


# --- deal kinds -----------------------------------------------------------------------------


def _kind_snapshot(kind: DealKind) -> dict:
    return {"name": kind.name, "is_process": kind.is_process, "is_active": kind.is_active}


def create_kind(actor, name, *, is_process: bool = True, stages=()) -> DealKind:
    """A new deal kind with `stages` (names, in order; probabilities 0 until set)."""
    _ensure_admin(actor)
    errors = FieldErrors()
    name = _clean_name(name, errors)
    if name and (other := _same_name(DealKind, name)):
        errors.add("name", _("A kind of deal named «%(name)s» already exists.", name=other))
    stage_names: list[str] = []
    for raw in stages:
        if raw is None or not str(raw).strip():
            continue
        stage_errors = FieldErrors()
        stage = _clean_name(raw, stage_errors, "stages")
        for message in stage_errors.fields.get("stages", []):
            errors.add("stages", message)
        if not stage:
            continue
        if any(fold(s) == fold(stage) for s in stage_names):
            errors.add("stages", _("The stage «%(name)s» is named twice.", name=stage))
            continue
        stage_names.append(stage)
    if len(stage_names) > MAX_STAGES:
        errors.add("stages", _("A kind of deal has at most %(n)s stages.", n=MAX_STAGES))
    errors.raise_if_any()
    kind = DealKind(name=name, is_process=bool(is_process), is_active=True)
    kind.stages = [
        DealStage(position=i, name=s, probability=Decimal(0)) for i, s in enumerate(stage_names, 1)
    ]
    with _unique("name", _taken_meanwhile()):
        db.session.add(kind)
    audit.record(
        actor,
        "create",
        kind,
        changes={**audit.diff({}, _kind_snapshot(kind)), "stages": [None, stage_names]},
        summary=f"deal kind {kind.name}"[:500],
    )
    return kind


def update_kind(actor, kind: DealKind, *, name, is_process: bool) -> DealKind:
    """Rename a kind and make it a process (stages strictly in order) or not. Turning a kind
    into a process is allowed even when open deals got where they are out of order: the rule
    applies to their next moves (see `out_of_order_open_deals`)."""
    _ensure_admin(actor)
    errors = FieldErrors()
    name = _clean_name(name, errors)
    if name and (other := _same_name(DealKind, name, exclude_id=kind.id)):
        errors.add("name", _("A kind of deal named «%(name)s» already exists.", name=other))
    errors.raise_if_any()
    before = _kind_snapshot(kind)
    with _unique("name", _taken_meanwhile()):
        kind.name, kind.is_process = name, bool(is_process)
    audit.record(actor, "update", kind, changes=audit.diff(before, _kind_snapshot(kind)))
    return kind


def set_kind_active(actor, kind: DealKind, active: bool) -> DealKind:
    """Deactivate a kind (no new deals of it; its deals stay as they are) or activate it."""
    _ensure_admin(actor)
    before = _kind_snapshot(kind)
    kind.is_active = bool(active)
    db.session.flush()
    audit.record(actor, "update", kind, changes=audit.diff(before, _kind_snapshot(kind)))
    return kind


def out_of_order_open_deals(kind: DealKind) -> int:
    """How many open deals of `kind` got to their stage in a way a process would not allow:
    starting past the first stage, skipping a stage or going back (staying in or re-entering
    the same stage is allowed). Counted in SQL over each deal's previous stay (LAG): a kind
    can have thousands of open deals."""
    stays = (
        select(
            DealStageEntry.deal_id.label("deal_id"),
            DealStage.position.label("position"),
            func.lag(DealStage.position)
            .over(
                partition_by=DealStageEntry.deal_id,
                order_by=(DealStageEntry.entered_at, DealStageEntry.id),
            )
            .label("previous"),
        )
        .join(DealStage, DealStage.id == DealStageEntry.stage_id)
        .join(Deal, Deal.id == DealStageEntry.deal_id)
        .where(Deal.kind_id == kind.id, Deal.status == "open")
        .subquery()
    )
    first = min((s.position for s in kind.stages), default=1)
    step = stays.c.position - stays.c.previous
    return db.session.execute(
        select(func.count(func.distinct(stays.c.deal_id))).where(
            or_(
                (stays.c.previous.is_(None)) & (stays.c.position != first),
                stays.c.previous.is_not(None) & step.not_in([0, 1]),
            )
        )
    ).scalar_one()


# --- stages ---------------------------------------------------------------------------------


def _stage_snapshot(stage: DealStage) -> dict:
    return {"name": stage.name, "probability": stage.probability, "position": stage.position}


def _stage_name(kind: DealKind, raw, errors: FieldErrors, exclude_id: int | None = None) -> str:
    name = _clean_name(raw, errors)
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
    _ensure_admin(actor)
    errors = FieldErrors()
    name = _stage_name(kind, name, errors)
    value = _parse_probability(probability, errors)
    if len(kind.stages) >= MAX_STAGES:
        errors.add("name", _("A kind of deal has at most %(n)s stages.", n=MAX_STAGES))
    errors.raise_if_any()
    position = max((s.position for s in kind.stages), default=0) + 1
    stage = DealStage(position=position, name=name, probability=value)
    with _unique("name", _taken_meanwhile()):
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
    _ensure_admin(actor)
    kind = stage.kind
    errors = FieldErrors()
    name = _stage_name(kind, name, errors, exclude_id=stage.id)
    value = _parse_probability(probability, errors)
    target = None
    if position not in (None, ""):
        target = _parse_position(kind, position, errors)
    errors.raise_if_any()
    before = _stage_snapshot(stage)
    with _unique("name", _taken_meanwhile()):
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
    _ensure_admin(actor)
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
    _ensure_admin(actor)
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
    _ensure_admin(actor)
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


# --- participant roles and loss reasons ---------------------------------------------------


def _duplicate_message(model, name: str) -> str:
    if model is DealRole:
        return _("A participant role named «%(name)s» already exists.", name=name)
    return _("A loss reason named «%(name)s» already exists.", name=name)


def _create_named(actor, model, name):
    _ensure_admin(actor)
    errors = FieldErrors()
    name = _clean_name(name, errors)
    if name and (other := _same_name(model, name)):
        errors.add("name", _duplicate_message(model, other))
    errors.raise_if_any()
    row = model(name=name, is_active=True)
    with _unique("name", _taken_meanwhile()):
        db.session.add(row)
    audit.record(
        actor,
        "create",
        row,
        changes=audit.diff({}, {"name": row.name}),
        summary=f"{model.__tablename__} {row.name}"[:500],
    )
    return row


def _rename_named(actor, row, name):
    _ensure_admin(actor)
    errors = FieldErrors()
    name = _clean_name(name, errors)
    if name and (other := _same_name(type(row), name, exclude_id=row.id)):
        errors.add("name", _duplicate_message(type(row), other))
    errors.raise_if_any()
    before = row.name
    with _unique("name", _taken_meanwhile()):
        row.name = name
    audit.record(actor, "update", row, changes=audit.diff({"name": before}, {"name": name}))
    return row


def _set_named_active(actor, row, active: bool):
    _ensure_admin(actor)
    before = row.is_active
    row.is_active = bool(active)
    db.session.flush()
    audit.record(
        actor,
        "update",
        row,
        changes=audit.diff({"is_active": before}, {"is_active": row.is_active}),
    )
    return row


def create_role(actor, name) -> DealRole:
    """A new participant role (ЛПР, influencer, user…)."""
    return _create_named(actor, DealRole, name)


def rename_role(actor, role: DealRole, name) -> DealRole:
    """Rename a participant role (deals show the new name)."""
    return _rename_named(actor, role, name)


def set_role_active(actor, role: DealRole, active: bool) -> DealRole:
    """A deactivated role is not offered for new choices; deals that have it keep it."""
    return _set_named_active(actor, role, active)


def create_loss_reason(actor, name) -> LossReason:
    """A new reason a deal can be lost for."""
    return _create_named(actor, LossReason, name)


def rename_loss_reason(actor, reason: LossReason, name) -> LossReason:
    """Rename a loss reason (lost deals show the new name)."""
    return _rename_named(actor, reason, name)


def set_loss_reason_active(actor, reason: LossReason, active: bool) -> LossReason:
    """A deactivated reason cannot be chosen for a new loss; lost deals keep theirs."""
    return _set_named_active(actor, reason, active)


# --- reads for the settings pages ---------------------------------------------------------


def kinds_overview() -> list[tuple[DealKind, int, int]]:
    """Every kind (active first, by name) with its number of stages and of open deals."""
    stage_counts = dict(
        db.session.execute(
            select(DealStage.kind_id, func.count()).group_by(DealStage.kind_id)
        ).all()
    )
    open_counts = dict(
        db.session.execute(
            select(Deal.kind_id, func.count()).where(Deal.status == "open").group_by(Deal.kind_id)
        ).all()
    )
    kinds = db.session.execute(select(DealKind)).scalars().all()
    kinds = sorted(kinds, key=lambda k: (not k.is_active, fold(k.name)))
    return [(k, stage_counts.get(k.id, 0), open_counts.get(k.id, 0)) for k in kinds]


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


def named_rows(model) -> list:
    """The roles or loss reasons, active first, by name."""
    rows = db.session.execute(select(model)).scalars().all()
    return sorted(rows, key=lambda r: (not r.is_active, fold(r.name)))
