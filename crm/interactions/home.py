"""The interactions' blocks of My day (crm/dashboard/widgets.py): what is overdue, today's plan,
the next 7 days, follow-ups that came due, and the count of unprocessed items.

Whose: one user's day shows the items he is responsible for (and, in the day's agenda, those
he takes part in); the team's day everything the reader may see. "Unprocessed" is what the
workplace list calls so: items whose `due_at` has passed (crm/interactions/services.py)."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from sqlalchemy import func, or_, select

from crm.core.policy import rows_clause
from crm.dashboard.widgets import Day, HomeWidget
from crm.extensions import db
from crm.interactions.models import OPEN_STATUSES, Interaction
from crm.interactions.policy import participating
from crm.interactions.queries import load

LIST_LIMIT = 10  # rows a block lists; the count says how many there are
AGENDA_LIMIT = 30


def _responsible(day: Day, stmt):
    if day.user_id is None:
        visible = rows_clause(day.reader, Interaction)
        return stmt if visible is None else stmt.where(visible)
    return stmt.where(Interaction.responsible_id == day.user_id)


def _taking_part(day: Day, stmt):
    if day.user_id is None:
        return _responsible(day, stmt)
    return stmt.where(
        or_(
            Interaction.responsible_id == day.user_id,
            Interaction.id.in_(participating(day.user_id)),
        )
    )


def _block(day: Day, stmt, order, limit: int, empty: str, **extra) -> str:
    ids = db.session.execute(
        stmt.with_only_columns(Interaction.id).order_by(*order).limit(limit)
    ).scalars()
    total = db.session.execute(
        stmt.with_only_columns(func.count(Interaction.id)).order_by(None)
    ).scalar_one()
    return render_template(
        "interactions/_home_list.html",
        items=load(list(ids)),
        total=total,
        empty=empty,
        zone=day.zone,
        team=day.user_id is None,
        **extra,
    )


def overdue(day: Day) -> str:
    """Open items whose start is before today, most recent first."""
    stmt = _responsible(
        day,
        select(Interaction).where(
            Interaction.status.in_(OPEN_STATUSES), Interaction.starts_at < day.day_start(0)
        ),
    )
    order = (Interaction.starts_at.desc(), Interaction.id.desc())
    return _block(day, stmt, order, LIST_LIMIT, "overdue", show="date")


def today(day: Day) -> str:
    """Today's interactions in time order (done ones stay, struck through)."""
    stmt = _taking_part(
        day,
        select(Interaction).where(
            Interaction.status != "cancelled",
            Interaction.starts_at >= day.day_start(0),
            Interaction.starts_at < day.day_start(1),
        ),
    )
    order = (Interaction.starts_at, Interaction.id)
    return _block(day, stmt, order, AGENDA_LIMIT, "today", show="time")


def next_days(day: Day) -> str:
    """Open items of the next 7 days (from tomorrow), in time order."""
    stmt = _taking_part(
        day,
        select(Interaction).where(
            Interaction.status.in_(OPEN_STATUSES),
            Interaction.starts_at >= day.day_start(1),
            Interaction.starts_at < day.day_start(8),
        ),
    )
    order = (Interaction.starts_at, Interaction.id)
    return _block(day, stmt, order, AGENDA_LIMIT, "week", show="datetime")


def follow_ups(day: Day) -> str:
    """Items whose follow-up date has come, the most recent first."""
    stmt = _responsible(
        day,
        select(Interaction).where(
            Interaction.follow_up_at.is_not(None), Interaction.follow_up_at <= day.now
        ),
    )
    order = (Interaction.follow_up_at.desc(), Interaction.id.desc())
    return _block(day, stmt, order, LIST_LIMIT, "follow_ups", show="follow_up")


def unprocessed(day: Day) -> str:
    """How many items wait to be processed, with a link to them."""
    stmt = _responsible(
        day, select(func.count(Interaction.id)).where(Interaction.due_at <= day.now)
    )
    count = db.session.execute(stmt).scalar_one()
    if day.user_id is None:
        link = url_for("interactions.index", unprocessed=1)
    elif day.user_id == day.reader.id:
        link = url_for("interactions.index", responsible="me", unprocessed=1)
    else:
        link = url_for("interactions.index", responsible=day.user_id, unprocessed=1)
    return render_template("interactions/_home_unprocessed.html", count=count, link=link)


WIDGETS = [
    # A context: the list marks one item "Unprocessed" (singular in Russian).
    HomeWidget("unprocessed", _lp("my day", "Unprocessed"), unprocessed, 10),
    # A context: "Overdue" alone is also the receivables' column (another translation).
    HomeWidget("overdue", _lp("my day", "Overdue"), overdue, 20),
    HomeWidget("today", _l("Today"), today, 30),
    HomeWidget("follow-ups", _l("Follow-ups due"), follow_ups, 40),
    HomeWidget("next-7-days", _l("Next 7 days"), next_days, 50),
]
