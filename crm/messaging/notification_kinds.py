"""The client notification kinds messaging itself offers (crm.core.client_notifications):

- order_status (on the event): crm.sales reports a stored sales document's status change made
  by an import or the API (crm.sales.services.set_statuses); key "order_status:<doc>:<status>".
- overdue_debt (scheduled): a partner whose oldest overdue document (the receivables' FIFO
  rule) is `days_after_due` days past due is told so that day and every `repeat_every_days`
  days after, until it is paid; key "overdue_debt:<partner>:<that due date>:<cycle>".
- deal_won (scheduled): a deal won (closed on a day from the switch-on on); key
  "deal_won:<deal>".
- interaction_reminder (scheduled): the contact person of a planned meeting or call is
  reminded `hours_before` hours before it starts; key
  "interaction_reminder:<interaction>:<starts_at>" (a meeting moved to another time is
  reminded again).

Why deal_won is scheduled, not on the event: a deal becomes won on the board, its form, the
API and the deals import (and whatever comes later); a scan of won deals sees them all without
a hook in each, and a deal won by mistake and reopened before the scan mails nobody. Its
closing day (which a user may set in the past) also keeps an import of long-won deals from
mailing their clients. The cost is up to one job interval (10 minutes) of delay.

Days are the site's (DEFAULT_TIMEZONE): a debt is "3 days overdue" by the calendar the company
keeps; `now` and `since` are naive UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from crm.core.client_notifications import ClientNotificationKind, KindParam, Occurrence
from crm.core.timeutil import to_zone
from crm.extensions import db

ORDER_STATUS = "order_status"
OVERDUE_DEBT = "overdue_debt"
DEAL_WON = "deal_won"
INTERACTION_REMINDER = "interaction_reminder"

# A deal won longer ago than this is no news: the scan stays a small index range however long
# the kind has been on (a deal won while no job ran for a week is not mailed late).
DEAL_WON_LOOKBACK_DAYS = 7
# What a reminder is sent for: planned meetings and calls (and planned interactions) with a
# contact person.
REMINDED_KINDS = ("meeting", "call", "planned")
MAX_REMIND_HOURS = 7 * 24  # crm.interactions' own reminders reach no further either


def site_day(moment: datetime) -> date:
    """The site's calendar day of a naive-UTC moment."""
    return to_zone(moment, current_app.config["DEFAULT_TIMEZONE"]).date()


# --- overdue debt ---------------------------------------------------------------------------


def overdue_cycle(due: date, today: date, after: int, every: int) -> int | None:
    """Which notification of a debt due on `due` is the current one on `today`: 0 from
    `after` days past due, 1 from `after + every` days, …; None before the first (and only
    0 when `every` is 0: told once)."""
    late = (today - due).days
    if late < after:
        return None
    return 0 if every <= 0 else (late - after) // every


def produce_overdue_debt(params: dict, since: datetime, now: datetime) -> Iterator[Occurrence]:
    from crm.sales.receivables import iter_receivables, partners_overdue_above

    after, every = params["days_after_due"], params["repeat_every_days"]
    today, first_day = site_day(now), site_day(since)
    # Partners whose oldest overdue document is at least `after` days late, in SQL over
    # every partner (late_by N: due more than N days before today); then the walk over those
    # few gives each one's oldest overdue due date.
    debtors = partners_overdue_above(today, Decimal(0), late_by=after - 1)
    ids = sorted(set(db.session.execute(debtors).scalars()))
    for balance in iter_receivables(today, ids):
        due = balance.oldest_overdue
        if due is None or balance.overdue <= 0:
            continue
        cycle = overdue_cycle(due, today, after, every)
        if cycle is None:
            continue
        # The day this cycle's notice fell due: one before the kind was switched on is past.
        if due + timedelta(days=after + cycle * max(every, 0)) < first_day:
            continue
        yield Occurrence(
            f"{OVERDUE_DEBT}:{balance.partner_id}:{due.isoformat()}:{cycle}",
            balance.partner_id,
            None,
            {
                "as_of": today.isoformat(),
                "due_date": due.isoformat(),
                "days_overdue": (today - due).days,
                "overdue": str(balance.overdue),
            },
        )


# --- deal won -------------------------------------------------------------------------------


def produce_deal_won(params: dict, since: datetime, now: datetime) -> Iterator[Occurrence]:
    from crm.deals.models import Deal

    today, first_day = site_day(now), site_day(since)
    start = max(first_day, today - timedelta(days=DEAL_WON_LOOKBACK_DAYS))
    stmt = (
        select(Deal.id, Deal.partner_id)
        .where(
            Deal.status == "won",
            Deal.closed_on >= start,
            Deal.closed_on <= today,
            # A deal closed on the switch-on day counts only if it was written after the
            # switch (won then, not in the morning before it).
            or_(Deal.closed_on > first_day, Deal.updated_at >= since),
        )
        .order_by(Deal.id)
    )
    for deal_id, partner_id in db.session.execute(stmt):
        yield Occurrence(f"{DEAL_WON}:{deal_id}", partner_id, None, {"deal_id": deal_id})


# --- interaction reminder -------------------------------------------------------------------


def produce_interaction_reminder(
    params: dict, since: datetime, now: datetime
) -> Iterator[Occurrence]:
    from crm.interactions.models import Interaction
    from crm.partners.models import ContactPerson

    ahead = timedelta(hours=params["hours_before"])
    stmt = (
        select(
            Interaction.id,
            Interaction.starts_at,
            Interaction.created_at,
            ContactPerson.id,
            ContactPerson.partner_id,
        )
        .join(ContactPerson, ContactPerson.id == Interaction.contact_person_id)
        .where(
            Interaction.starts_at > now,
            Interaction.starts_at <= now + ahead,
            Interaction.status == "planned",
            Interaction.kind.in_(REMINDED_KINDS),
        )
        .order_by(Interaction.starts_at, Interaction.id)
    )
    for interaction_id, starts_at, created_at, person_id, partner_id in db.session.execute(stmt):
        # The reminder falls due `ahead` before the start, or when a meeting planned at
        # shorter notice is written; one due before the switch-on is past.
        due = max(starts_at - ahead, created_at)
        if due < since:
            continue
        yield Occurrence(
            f"{INTERACTION_REMINDER}:{interaction_id}:{starts_at.isoformat()}",
            partner_id,
            person_id,
            {"interaction_id": interaction_id, "starts_at": starts_at.isoformat()},
        )


KINDS = (
    ClientNotificationKind(
        ORDER_STATUS,
        _l("Order status changed"),
        _l(
            "Sent when an import or the API changes the status of a sales document (ordered, "
            "shipped, paid, cancelled)."
        ),
        order=10,
    ),
    ClientNotificationKind(
        OVERDUE_DEBT,
        _l("Overdue debt"),
        _l(
            "Sent when the oldest unpaid document of a client is the given number of days past "
            "due, then again every given number of days until it is paid."
        ),
        params=(
            KindParam("days_after_due", _l("Days after the due date"), 3, 1, 365),
            KindParam(
                "repeat_every_days",
                _l("Repeat every (days)"),
                7,
                0,
                365,
                _l("0: only once."),
            ),
        ),
        produce=produce_overdue_debt,
        order=20,
    ),
    ClientNotificationKind(
        DEAL_WON,
        _l("Deal won"),
        _l("Sent once to the client of a deal that was won (checked every few minutes)."),
        produce=produce_deal_won,
        order=30,
    ),
    ClientNotificationKind(
        INTERACTION_REMINDER,
        _l("Meeting reminder"),
        _l(
            "Sent to the contact person of a planned meeting or call the given number of hours "
            "before it starts; again if it is moved to another time."
        ),
        params=(KindParam("hours_before", _l("Hours before the start"), 24, 1, MAX_REMIND_HOURS),),
        produce=produce_interaction_reminder,
        order=40,
    ),
)
