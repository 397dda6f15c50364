"""Bulk writes of deals for the import (crm/deals/exchange/): a kind's process from
deal-stages.csv, and many deals from deals.csv with their derived columns (the furthest stage
reached, when the current stage was entered), their stage history, versions and audit entries.

Kept apart from services.py, which writes one deal through the ORM: here plain rows go in with
`core.db.insert_rows` (COPY on PostgreSQL) and changed deals with one executemany UPDATE a batch.
What it buys: importing 200,000 deals does not build 200,000 ORM objects and flush them one by
one (see the report's timing)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import selectinload

from crm.core import audit
from crm.core.db import insert_rows
from crm.core.models import AuditEntry
from crm.core.versioning import bump_values
from crm.deals.models import WON_POSITION, Deal, DealKind, DealStage, DealStageEntry
from crm.extensions import db

# The fields of a deal an import sets (and audits), as services.snapshot names them.
IMPORTED = (
    "partner_id",
    "kind_id",
    "stage_id",
    "status",
    "amount",
    "created_on",
    "expected_close",
    "closed_on",
    "manager_id",
    "loss_reason_id",
    "source",
)


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min)


def _chunks(items: list, size: int = 900):
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- deal-stages.csv --------------------------------------------------------------------------


def _process_view(kind: DealKind) -> dict:
    return {
        "process": kind.is_process,
        "stages": [f"{s.position}. {s.name} ({s.probability.normalize():f}%)" for s in kind.stages],
    }


def import_stages(actor, kind_name: str, is_process: bool, rows: list[dict]) -> None:
    """Store one kind's process as a file gives it: the kind (created on first use) and each
    row's stage (`stage`, `position`, `probability`: None keeps a stored stage's, 0 for a new
    one). A stored stage the file does not name keeps its place, unless the file gives that
    place to another stage: then it moves after the kind's last stage (the positions stay
    unique). When stored stages moved, the deals' furthest positions are counted again."""
    kind = db.session.execute(
        select(DealKind).where(DealKind.name == kind_name).options(selectinload(DealKind.stages))
    ).scalar_one_or_none()
    created = kind is None
    if created:
        kind = DealKind(name=kind_name, is_process=is_process)
        kind.stages = []
        db.session.add(kind)
        db.session.flush()
    before = {} if created else _process_view(kind)
    kind.is_process = is_process
    wanted = {r["stage"]: r for r in rows}
    final = {name: r["position"] for name, r in wanted.items()}
    others = sorted((s for s in kind.stages if s.name not in wanted), key=lambda s: s.position)
    taken = set(final.values())
    kept = [s for s in others if s.position not in taken]
    for s in kept:
        final[s.name] = s.position
    last = max(final.values(), default=0)
    for s in others:
        if s.name not in final:
            last += 1
            final[s.name] = last
    stored = {s.name: s for s in kind.stages}
    moving = [s for s in stored.values() if final[s.name] != s.position]
    if moving:
        # Two steps: out of the way first (the unique (kind, position) is checked per row).
        for s in moving:
            s.position = -s.id
        db.session.flush()
        for s in moving:
            s.position = final[s.name]
    for name, r in wanted.items():
        stage = stored.get(name)
        if stage is None:
            kind.stages.append(
                DealStage(
                    name=name,
                    position=r["position"],
                    probability=r["probability"] if r["probability"] is not None else Decimal(0),
                )
            )
        elif r["probability"] is not None:
            stage.probability = r["probability"]
    db.session.flush()
    db.session.expire(kind, ["stages"])
    if moving:
        recount_reached(kind)
    audit.record(
        actor,
        "create" if created else "update",
        kind,
        changes=audit.diff(before, _process_view(kind)),
        summary=f"{'created' if created else 'updated'} by import",
    )


def recount_reached(kind: DealKind) -> None:
    """The furthest position of the kind's deals that are not won, after its stages moved: a
    process deal's is its current stage's; a non-process deal's the furthest stage it has
    been at (its history) or is at."""
    deal, stage, entry = Deal.__table__, DealStage.__table__, DealStageEntry.__table__
    current = select(stage.c.position).where(stage.c.id == deal.c.stage_id).scalar_subquery()
    if kind.is_process:
        reached = func.coalesce(current, 0)
    else:
        furthest = (
            select(func.max(stage.c.position))
            .select_from(entry.join(stage, stage.c.id == entry.c.stage_id))
            .where(entry.c.deal_id == deal.c.id)
            .scalar_subquery()
        )
        # The larger of two values: GREATEST on PostgreSQL, the two-argument MAX on SQLite.
        pg = db.session.get_bind().dialect.name == "postgresql"
        larger = func.greatest if pg else func.max
        reached = larger(func.coalesce(furthest, 0), func.coalesce(current, 0))
    db.session.execute(
        update(deal)
        .where(deal.c.kind_id == kind.id, deal.c.status != "won")
        .values(reached_position=reached)
    )


# --- deals.csv --------------------------------------------------------------------------------


def _entry(actor, pid: int, action: str, changes: dict, version: int) -> dict:
    return {
        "user_id": getattr(actor, "id", None),
        "action": action,
        "object_type": Deal.__tablename__,
        "object_id": pid,
        "root_type": Deal.__tablename__,
        "root_id": pid,
        "summary": f"{'created' if action == 'create' else 'updated'} by import",
        "changes": changes,
        "object_version": version,
    }


def _created(r: dict) -> dict:
    """audit.diff({}, fields) of a new deal, written out directly: the general diff compares
    every value twice in JSON form, a quarter of a first import's time."""
    found = {"deal_no": [None, r["deal_no"]]}
    for name in IMPORTED:
        value = r[name]
        if value is None or value == "":
            continue
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, date):
            value = value.isoformat()
        found[name] = [None, value]
    return found


def import_new_deals(actor, rows: list[dict]) -> None:
    """Insert deals not stored yet. Each row has deal_no, the IMPORTED fields and `position`
    (its stage's, or None). A new deal entered its stage on the day it was opened; its history
    is that one stay, ended on the day it closed; it reached its stage's position (a won deal:
    every stage, WON_POSITION)."""
    if not rows:
        return
    deals = []
    for r in rows:
        won = r["status"] == "won"
        deals.append(
            {
                "deal_no": r["deal_no"],
                **{name: r[name] for name in IMPORTED},
                "reached_position": WON_POSITION if won else (r["position"] or 0),
                "stage_entered_at": _midnight(r["created_on"]),
            }
        )
    ids = insert_rows(Deal.__table__, deals, key=("deal_no",))
    history, entries = [], []
    for r in rows:
        pid = ids[(r["deal_no"],)]
        history.append(
            {
                "deal_id": pid,
                "stage_id": r["stage_id"],
                "entered_at": _midnight(r["created_on"]),
                "left_at": _midnight(r["closed_on"]) if r["status"] != "open" else None,
                "user_id": getattr(actor, "id", None),
            }
        )
        entries.append(_entry(actor, pid, "create", _created(r), 1))
    insert_rows(DealStageEntry.__table__, history)
    insert_rows(AuditEntry.__table__, entries)


def _stored(deal_nos: list[str]) -> dict[str, dict]:
    t = Deal.__table__
    kinds = DealKind.__table__
    found = {}
    for batch in _chunks(deal_nos):
        for row in db.session.execute(
            select(
                t.c.id,
                t.c.deal_no,
                t.c.version,
                t.c.reached_position,
                t.c.stage_entered_at,
                kinds.c.is_process,
                *(t.c[name] for name in IMPORTED),
            )
            .join(kinds, kinds.c.id == t.c.kind_id)
            .where(t.c.deal_no.in_(batch))
        ):
            found[row.deal_no] = row._asdict()
    return found


def _furthest_in_history(deal_ids: list[int]) -> dict[int, int]:
    entry, stage = DealStageEntry.__table__, DealStage.__table__
    found = {}
    for batch in _chunks(deal_ids):
        found.update(
            db.session.execute(
                select(entry.c.deal_id, func.max(stage.c.position))
                .join(stage, stage.c.id == entry.c.stage_id)
                .where(entry.c.deal_id.in_(batch))
                .group_by(entry.c.deal_id)
            ).all()
        )
    return found


def import_changed_deals(actor, rows: list[dict], *, now: datetime) -> None:
    """Update stored deals (rows as for import_new_deals) whose fields changed. A deal whose
    stage changes (or that is opened again) leaves its current stay and enters the stage at
    `now` (the import's moment), in a new history row; one that closes ends its stay. Its
    furthest position follows (a non-process kind's deal keeps a further one it had reached);
    its version moves on and the change is audited."""
    if not rows:
        return
    stored = _stored([r["deal_no"] for r in rows])
    was_won = [s["id"] for s in stored.values() if s["status"] == "won"]
    furthest = _furthest_in_history(was_won) if was_won else {}
    updates, leave, enter, entries = [], [], [], []
    for r in rows:
        old = stored[r["deal_no"]]
        new = {name: r[name] for name in IMPORTED}
        if r["status"] == "won" and r["stage_id"] is None:
            new["stage_id"] = old["stage_id"]  # won: every stage passed; the stored one stays
        changes = audit.diff({n: old[n] for n in IMPORTED}, new)
        if not changes:
            continue
        is_open = r["status"] == "open"
        entered = old["stage_entered_at"]
        stage_moved = new["stage_id"] != old["stage_id"] or (is_open and old["status"] != "open")
        if stage_moved:
            leave.append(old["id"])
            entered = now
            enter.append(
                {
                    "deal_id": old["id"],
                    "stage_id": new["stage_id"],
                    "entered_at": now,
                    "left_at": None if is_open else now,
                    "user_id": getattr(actor, "id", None),
                }
            )
        elif not is_open and old["status"] == "open":
            leave.append(old["id"])  # closed at its stage: the stay ends
        if r["status"] == "won":
            reached = WON_POSITION
        else:
            reached = r["position"] or 0
            if not old["is_process"] and old["kind_id"] == new["kind_id"]:
                before = old["reached_position"]
                if old["status"] == "won":
                    before = furthest.get(old["id"], 0)
                reached = max(before or 0, reached)
        updates.append(
            {
                "b_id": old["id"],
                **{f"b_{name}": value for name, value in new.items()},
                "b_reached_position": reached,
                "b_stage_entered_at": entered,
                "b_updated_at": now,
            }
        )
        entries.append(_entry(actor, old["id"], "update", changes, old["version"] + 1))
    if not updates:
        return
    t = Deal.__table__
    stmt = (
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values(
            {
                **{name: bindparam(f"b_{name}") for name in IMPORTED},
                "reached_position": bindparam("b_reached_position"),
                "stage_entered_at": bindparam("b_stage_entered_at"),
                "updated_at": bindparam("b_updated_at"),
                **bump_values(t),
            }
        )
    )
    db.session.execute(stmt, updates)
    h = DealStageEntry.__table__
    for batch in _chunks(leave):
        db.session.execute(
            update(h).where(h.c.deal_id.in_(batch), h.c.left_at.is_(None)).values(left_at=now)
        )
    insert_rows(h, enter)
    insert_rows(AuditEntry.__table__, entries)
