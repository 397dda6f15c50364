"""Writes of the transition report: a cell's clients turned into a batch of planned calls.

A call is an interaction (crm.interactions' service): kind call, status planned, outgoing, to
the client's main phone, assigned to the client's responsible manager, titled with the move
(«Клиент перешёл: Регулярный X → Потерян»), due on the next working day (Monday to Friday in
the manager's time zone, at CALL_TIME). A PlannedCall row per client and move
(from_date, to_date, source, target) is claimed first, with INSERT … ON CONFLICT DO NOTHING
on its unique key: pressing the button twice, or two people pressing it at once, plans one
call per client (on PostgreSQL the second INSERT waits for the first transaction, then does
nothing).

Whose clients: a user who owns records but may not hand them to others (a manager) plans
only for the clients he is responsible for; the others (admins, marketers) for every client of
the cell they may see.

The same batch serves any selection of partners (crm.core.selections: a segment's page, a
filtered list, a report's drill-down): `plan_selection_calls` claims a SelectionCall row per
client, selection and day instead of the move's key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import aliased

from crm.analytics.models import PlannedCall, SelectionCall
from crm.analytics.stage_labels import stage_title
from crm.analytics.stages import Transitions, cell_partners
from crm.auth.models import User
from crm.core import formats
from crm.core.errors import DomainError
from crm.core.i18n import ngettext
from crm.core.keys import dialect_insert
from crm.core.policy import may, require, visible
from crm.core.text import digits
from crm.core.timeutil import from_zone, to_zone, user_zone, utcnow
from crm.extensions import db
from crm.interactions.services import create_for_owner
from crm.partners.models import ContactDetail, Partner

CALL_TIME = time(10, 0)  # the manager's local time the call is planned for
CALL_MINUTES = 15


@dataclass
class PlanResult:
    created: int = 0  # calls planned now
    already: int = 0  # clients planned for this move before
    no_manager: int = 0  # clients with no active responsible manager: nobody to call them
    failed: int = 0  # refused by the interactions' rules (reported, nothing half-written)


def next_working_day(day: date) -> date:
    """The first Monday-to-Friday day after `day` (no holiday calendar in the CRM yet)."""
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def call_time(owner: User, now: datetime | None = None) -> datetime:
    """CALL_TIME of the next working day in the owner's zone, as naive UTC."""
    zone = user_zone(owner)
    today = to_zone(now or utcnow(), zone).date()
    return from_zone(datetime.combine(next_working_day(today), CALL_TIME), zone)


def only_own_clients(user) -> bool:
    """A manager (owns records, may not assign them) plans calls for his own clients only."""
    return may(user, "records.own") and not may(user, "records.assign")


def call_title(source: str, target: str) -> str:
    return _(
        "Client moved: %(source)s → %(target)s",
        source=stage_title(source),
        target=stage_title(target),
    )


def _description(report: Transitions, source: str, target: str, member) -> str:
    text = _(
        "The client's stage was %(source)s on %(start)s and %(target)s on %(end)s.",
        source=stage_title(source),
        start=formats.fmt_date(report.start),
        target=stage_title(target),
        end=formats.fmt_date(report.end),
    )
    if member.lost_revenue is not None:
        text += " " + _("Lost revenue: %(amount)s.", amount=formats.fmt_money(member.lost_revenue))
    return text


def _dialable(phone: str | None) -> str:
    """The number to call, when it is one: a call whose stored phone has too few digits is
    still planned, with no number (the interactions' rules would refuse that address)."""
    return phone if phone and len(digits(phone)) >= 3 else ""


@dataclass(frozen=True)
class CallTarget:
    partner_id: int
    phone: str | None
    description: str


def _owners(actor, ids: list[int]) -> dict[int, User | None]:
    """partner id → its responsible manager (None: nobody) for the partners among `ids` the
    actor plans for: those he may see, and for a manager only his own."""
    if not ids:
        return {}
    owner = aliased(User)
    stmt = (
        select(Partner.id, owner)
        .outerjoin(owner, owner.id == Partner.responsible_id)
        .where(Partner.id.in_(ids))
    )
    if only_own_clients(actor):
        stmt = stmt.where(Partner.responsible_id == actor.id)
    return dict(db.session.execute(visible(actor, Partner, stmt)).all())


def _plan_each(actor, targets: list[CallTarget], title: str, table, key_of, owners) -> PlanResult:
    """One planned call per target (see the module docstring), each claimed first in `table`
    under `key_of(partner_id)`: a target claimed before gets no second call."""
    result = PlanResult()
    for t in targets:
        if t.partner_id not in owners:
            continue  # not the actor's client (or not one he may see)
        manager = owners[t.partner_id]
        if manager is None or not manager.active or not may(manager, "records.own"):
            result.no_manager += 1
            continue
        key = key_of(t.partner_id)
        try:
            with db.session.begin_nested():
                claim = (
                    dialect_insert(table)
                    .values(**key, planned_by_id=actor.id, created_at=utcnow())
                    .on_conflict_do_nothing(index_elements=list(key))
                    .returning(table.c.id)
                )
                link_id = db.session.execute(claim).scalar()
                if link_id is None:
                    result.already += 1
                    continue
                call = create_for_owner(
                    actor,
                    {
                        "kind": "call",
                        "status": "planned",
                        "direction": "outgoing",
                        "title": title,
                        "partner_id": t.partner_id,
                        "address": _dialable(t.phone),
                        "responsible_id": manager.id,
                        "starts_at": call_time(manager),
                        "duration_minutes": CALL_MINUTES,
                        "description": t.description,
                    },
                )
                db.session.execute(
                    table.update().where(table.c.id == link_id).values(interaction_id=call.id)
                )
        except DomainError:
            result.failed += 1
            continue
        result.created += 1
    return result


def plan_calls(actor, report: Transitions, source: str, target: str) -> PlanResult:
    """Plan a call to each client of the cell `source` → `target` (see the module docstring);
    a client planned for this move already gets no second one."""
    require(actor, "analytics.plan_calls")
    members = cell_partners(report, source, target)
    owners = _owners(actor, [m.partner_id for m in members])
    targets = [
        CallTarget(m.partner_id, m.phone, _description(report, source, target, m)) for m in members
    ]

    def key_of(partner_id: int) -> dict:
        return {
            "from_date": report.start,
            "to_date": report.end,
            "source": source,
            "target": target,
            "partner_id": partner_id,
        }

    table = PlannedCall.__table__
    return _plan_each(actor, targets, call_title(source, target), table, key_of, owners)


# Calls planned from one selection at once: a batch is a day's work for the managers, and a list
# of thousands is a mailing's job rather than a call campaign's.
MAX_SELECTION_CALLS = 1000
TITLE_MAX = 255


def selection_digest(source: str, args: str) -> str:
    """The key of a selection: its source and query string, hashed."""
    return hashlib.sha256(f"{source}?{args}".encode()).hexdigest()


def _main_phones(ids: list[int]) -> dict[int, str]:
    phones: dict[int, str] = {}
    for start in range(0, len(ids), 900):
        rows = db.session.execute(
            select(ContactDetail.partner_id, ContactDetail.value)
            .where(
                ContactDetail.partner_id.in_(ids[start : start + 900]),
                ContactDetail.kind == "phone",
            )
            .order_by(ContactDetail.partner_id, ContactDetail.is_main.desc(), ContactDetail.id)
        )
        for pid, value in rows:
            phones.setdefault(pid, value)  # the main one, else the first
    return phones


def plan_selection_calls(actor, digest: str, name: str, ids: list[int], today: date) -> PlanResult:
    """Plan a call to each partner of a selection (`ids`, read for the actor; `digest` its
    `selection_digest`, `name` what the page calls it) for the partner's manager, as the
    transition report's batch does; a partner planned from this selection on `today` already
    gets no second call. Raises DomainError, writing nothing, above MAX_SELECTION_CALLS."""
    require(actor, "analytics.plan_calls")
    ids = sorted(set(ids))
    owners: dict[int, User | None] = {}
    for start in range(0, len(ids), 900):
        owners.update(_owners(actor, ids[start : start + 900]))
    if len(owners) > MAX_SELECTION_CALLS:
        raise DomainError(
            ngettext(
                "At most %(max)s calls at once: this list has %(num)s client. Narrow it.",
                "At most %(max)s calls at once: this list has %(num)s clients. Narrow it.",
                len(owners),
                max=MAX_SELECTION_CALLS,
            )
        )
    phones = _main_phones(sorted(owners))
    description = _("Planned from the list “%(name)s”.", name=name)
    targets = [CallTarget(pid, phones.get(pid), description) for pid in sorted(owners)]
    title = _("Call: %(name)s", name=name)[:TITLE_MAX]

    def key_of(partner_id: int) -> dict:
        return {"selection": digest, "planned_on": today, "partner_id": partner_id}

    table = SelectionCall.__table__
    return _plan_each(actor, targets, title, table, key_of, owners)


def planned_for(report: Transitions, source: str, target: str, partner_ids) -> dict:
    """partner_id → the id of the call planned for it for this move (None when that call was
    deleted), for the partners of `partner_ids` that were planned."""
    ids = list(partner_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(PlannedCall.partner_id, PlannedCall.interaction_id).where(
            PlannedCall.from_date == report.start,
            PlannedCall.to_date == report.end,
            PlannedCall.source == source,
            PlannedCall.target == target,
            PlannedCall.partner_id.in_(ids),
        )
    ).all()
    return dict(rows)


def merge_planned_calls(other_id: int, survivor_id: int) -> None:
    """Partner merge hook: the other partner's planned-call rows would collide with the
    survivor's on the unique key for a move both were planned for; those go (the survivor's
    call stands), the rest are re-pointed by the merge."""
    mine = select(
        PlannedCall.from_date, PlannedCall.to_date, PlannedCall.source, PlannedCall.target
    ).where(PlannedCall.partner_id == survivor_id)
    taken = set(db.session.execute(mine).all())
    theirs = db.session.execute(
        select(
            PlannedCall.id,
            PlannedCall.from_date,
            PlannedCall.to_date,
            PlannedCall.source,
            PlannedCall.target,
        ).where(PlannedCall.partner_id == other_id)
    ).all()
    drop = [row.id for row in theirs if tuple(row[1:]) in taken]
    if drop:
        db.session.execute(delete(PlannedCall).where(PlannedCall.id.in_(drop)))
    # The same for the calls planned from selections (unique per selection and day).
    survivor_has = select(SelectionCall.selection, SelectionCall.planned_on).where(
        SelectionCall.partner_id == survivor_id
    )
    taken_calls = set(db.session.execute(survivor_has).all())
    theirs_calls = db.session.execute(
        select(SelectionCall.id, SelectionCall.selection, SelectionCall.planned_on).where(
            SelectionCall.partner_id == other_id
        )
    ).all()
    drop = [row.id for row in theirs_calls if tuple(row[1:]) in taken_calls]
    if drop:
        db.session.execute(delete(SelectionCall).where(SelectionCall.id.in_(drop)))
