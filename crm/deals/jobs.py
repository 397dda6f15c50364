"""Background jobs of deals: the responsible manager is told when an open deal's expected close
date has passed and when an open deal became stale (crm.deals.stale), once per event, in his
language; the e-mail copies go out as the reminders' do (crm.notifications.mail)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from crm.auth.models import User
from crm.core.formats import fmt_date, fmt_money, fmt_number
from crm.core.i18n import in_language
from crm.core.timeutil import to_zone, utcnow
from crm.deals.models import Deal
from crm.deals.stale import days_in_stage, is_stale, stage_medians
from crm.extensions import db
from crm.notifications import mail
from crm.notifications.services import existing, notify

# Expected close dates that passed longer ago than this are not announced: the first run after
# a deploy (or an import of old open deals) would flood every manager otherwise. A run a day is
# enough to tell of every date that passes from then on.
OVERDUE_LOOKBACK = timedelta(days=30)
LOAD_BATCH = 500


def overdue_key(deal_id: int, expected_close: date) -> str:
    """Once per deal and expected close date: a date moved later that passes again is told."""
    return f"deal:{deal_id}:overdue:{expected_close.isoformat()}"


def stale_key(deal_id: int, stage_id: int | None, entered_at: datetime) -> str:
    """Once per stay in a stage: moving on (or back, or reopening) starts a new stay."""
    moment = entered_at.replace(microsecond=0).isoformat(timespec="seconds")
    return f"deal:{deal_id}:stale:{stage_id or 0}:{moment}"


def deal_url(deal_id: int) -> str:
    # Jobs run without a request (no host to build an absolute URL from), as the reminders do:
    # a path on this site, the deal card's (deals.detail).
    return f"/deals/{deal_id}"


@dataclass(frozen=True)
class _Due:
    deal_id: int
    what: str  # "overdue" | "stale"
    days: int = 0
    median: float = 0.0


def _candidates(now: datetime) -> dict[tuple[int, str], _Due]:
    """{(manager id, key): what is due} over the open deals, read in one query of a few
    columns; the stage medians are crm.deals.stale's, over every open deal of the stage, with
    or without a manager."""
    stmt = (
        select(
            Deal.id,
            Deal.kind_id,
            Deal.stage_id,
            Deal.stage_entered_at,
            Deal.expected_close,
            Deal.manager_id,
            User.active,
            User.timezone,
        )
        .outerjoin(User, User.id == Deal.manager_id)
        .where(Deal.status == "open")
    )
    # Plain tuples through the connection, not ORM rows: with 20,000 open deals this read is
    # most of a run that finds nothing new (a run every few minutes), and the ORM's result
    # handling doubled it.
    rows = [(*row, days_in_stage(row[3], now)) for row in db.session.connection().execute(stmt)]
    medians = stage_medians(None, now)

    todays: dict[str | None, date] = {}
    due: dict[tuple[int, str], _Due] = {}
    for deal_id, kind_id, stage_id, entered_at, expected, manager_id, active, zone, days in rows:
        if manager_id is None or not active:
            continue
        if expected is not None:
            if zone not in todays:
                todays[zone] = _today(now, zone)
            today = todays[zone]
            if today - OVERDUE_LOOKBACK <= expected < today:
                due[(manager_id, overdue_key(deal_id, expected))] = _Due(deal_id, "overdue")
        stage_median = medians.get((kind_id, stage_id))
        if is_stale(days, stage_median):
            key = stale_key(deal_id, stage_id, entered_at)
            due[(manager_id, key)] = _Due(deal_id, "stale", days, stage_median)
    return due


def _today(now: datetime, zone: str | None) -> date:
    """The manager's today: his zone, else the site's (a date passes at his midnight)."""
    from flask import current_app

    return to_zone(now, zone or current_app.config["DEFAULT_TIMEZONE"]).date()


def _load(ids: list[int]) -> dict[int, Deal]:
    """The deals to tell of, with partner, stage and manager (joined eagerly): a query per
    LOAD_BATCH, never one per deal."""
    found: dict[int, Deal] = {}
    for start in range(0, len(ids), LOAD_BATCH):
        stmt = select(Deal).where(Deal.id.in_(ids[start : start + LOAD_BATCH]))
        found.update((d.id, d) for d in db.session.execute(stmt).unique().scalars())
    return found


def _overdue_text(deal: Deal) -> tuple[str, str]:
    title = _(
        "Expected close date passed: %(deal)s, %(partner)s",
        deal=deal.label,
        partner=deal.partner.name,
    )
    lines = [_("Expected close: %(date)s", date=fmt_date(deal.expected_close))]
    if deal.stage is not None:
        lines.append(_("Stage: %(stage)s", stage=deal.stage.name))
    lines.append(_("Amount: %(amount)s", amount=fmt_money(deal.amount)))
    return title, "\n".join(lines)


def _stale_text(deal: Deal, days: int, stage_median: float) -> tuple[str, str]:
    if deal.stage is not None:
        title = _(
            "Deal stalled at «%(stage)s»: %(deal)s, %(partner)s",
            stage=deal.stage.name,
            deal=deal.label,
            partner=deal.partner.name,
        )
    else:
        title = _("Deal stalled: %(deal)s, %(partner)s", deal=deal.label, partner=deal.partner.name)
    lines = [
        _(
            "Days in the stage: %(days)s, more than twice the stage's median of %(median)s.",
            days=fmt_number(days, 0),
            median=fmt_number(round(stage_median, 1)),
        ),
        _("Amount: %(amount)s", amount=fmt_money(deal.amount)),
    ]
    return title, "\n".join(lines)


def _announce(due: dict[tuple[int, str], _Due]) -> dict[str, int]:
    """Notify the managers of what is due and not told yet; {what: how many were new}."""
    done = existing(list(due))
    new = {pair: item for pair, item in due.items() if pair not in done}
    deals = _load(sorted({item.deal_id for item in new.values()}))
    counts = {"overdue": 0, "stale": 0}
    for (user_id, key), item in sorted(new.items(), key=lambda kv: (kv[1].deal_id, kv[0][1])):
        deal = deals.get(item.deal_id)
        if deal is None or deal.manager is None:
            continue
        with in_language(deal.manager.locale):
            if item.what == "overdue":
                title, body = _overdue_text(deal)
            else:
                title, body = _stale_text(deal, item.days, item.median)
        if notify(user_id, key, title, body, deal_url(deal.id)) is not None:
            counts[item.what] += 1
    return counts


def send_deal_notices(run=None, now: datetime | None = None) -> dict:
    """Tell responsible managers of open deals whose expected close date passed and of deals
    that became stale, then e-mail the copies; idempotent (a notification exists once per deal
    and date, once per deal and stay in a stage)."""
    now = now or utcnow()
    try:
        counts = _announce(_candidates(now))
        db.session.commit()
    except Exception:
        db.session.rollback()  # the worker's session outlives the job
        raise
    emailed = mail.deliver_pending()
    notified = counts["overdue"] + counts["stale"]
    if run is not None:  # the job's log line, read by admins
        run.message = (
            f"{notified} notified ({counts['overdue']} overdue, {counts['stale']} stale), "
            f"{emailed} e-mailed"
        )
        db.session.commit()
    return {**counts, "notified": notified, "emailed": emailed}
