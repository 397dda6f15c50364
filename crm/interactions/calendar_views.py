"""The event calendar (day, week, month, agenda), rescheduling, the iCalendar feed and .ics.

The calendar is laid out in the signed-in user's zone: a period's bounds are local midnights
turned into UTC for the query, and items are placed on the local days they cover.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, time, timedelta

from flask import Response, abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from crm.auth.models import User
from crm.core.errors import DomainError, PermissionDenied
from crm.core.formats import fmt_datetime
from crm.core.i18n import ngettext
from crm.core.params import OutOfRange
from crm.core.policy import may
from crm.core.timeutil import from_zone, parse_local, to_zone, user_zone, utcnow
from crm.core.versioning import StaleRecord
from crm.extensions import db
from crm.forms import submitted_version
from crm.htmx import is_fragment_request, render
from crm.interactions import bp, feeds, ical, queries, services
from crm.interactions.calendar import (
    CalendarItem,
    CalendarWindow,
    SourceItems,
    calendar_items,
    cap_per_day,
    local_days,
)
from crm.interactions.calendar_grid import (
    FIRST_HOUR,
    LAST_HOUR,
    MAX_DATE,
    MIN_DATE,
    VIEWS,
    CalendarQuery,
    bucket,
    clamp,
    columns,
    owner_param,
    parse_query,
    period_of,
)
from crm.interactions.forms import MoveForm
from crm.interactions.labels import (
    count_label,
    day_heading,
    input_value,
    weekday_names,
)
from crm.interactions.models import (
    contact_label,
    display_title,
    is_overdue,
    is_unprocessed,
    kind_title,
    status_title,
)
from crm.interactions.views import load_interaction

# The feed: what a calendar program gets (older and later items are left out to keep it small).
# A month back is enough to look up what happened; more made a busy user's feed take seconds.
FEED_PAST, FEED_AHEAD = timedelta(days=30), timedelta(days=365)
CLOSED_STATUSES = ("completed", "cancelled")
# A month cell lists this many items of its day, then "+N more" (a link to the day view, which
# lists them all); a week column and an agenda day list up to BUSY_DAY_ITEMS.
MONTH_CELL_ITEMS = 4
BUSY_DAY_ITEMS = 30
PER_DAY = {"month": MONTH_CELL_ITEMS, "week": BUSY_DAY_ITEMS, "agenda": BUSY_DAY_ITEMS}
LOCAL_VALUE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", re.ASCII)


def zone() -> str:
    return user_zone(current_user)


# --- the calendar source of interactions -----------------------------------------------------


def calendar_source_items(window: CalendarWindow) -> SourceItems:
    """Interactions overlapping the window as calendar items (the registered source). With a
    per-day cap, only the shown ones are loaded: a month of a busy user stays cheap."""
    user, now = window.user, utcnow()
    span = queries.calendar_span(user, window.start, window.end, window.owner_ids)
    hidden = Counter()
    if window.per_day:
        days = local_days([row[1] for row in span], window.zone)
        ids, hidden = cap_per_day(
            list(zip((row[0] for row in span), days, strict=True)), window.per_day
        )
    else:
        ids = [row[0] for row in span]
    items = []
    # One url_for each, the others derived from it: a busy month has hundreds of items.
    detail = url_for("interactions.detail", interaction_id=0).removesuffix("0")
    for row in queries.rows_for_calendar(ids):
        url = f"{detail}{row.id}"
        movable = row.status not in CLOSED_STATUSES and may(user, "interaction.edit", row)
        items.append(
            CalendarItem(
                key=f"interaction-{row.id}",
                title=display_title(row.title, row.kind, row.partner_name),
                starts_at=row.starts_at,
                ends_at=row.ends_at or row.starts_at,
                url=url,
                kind=row.kind,
                kind_title=kind_title(row.kind),
                status_title=status_title(row.status),
                subtitle=contact_label(row.partner_name, row.person_name, row.contact_text),
                status=row.status,
                unprocessed=is_unprocessed(row.due_at, now),
                overdue=is_overdue(row.status, row.starts_at, row.ends_at, now),
                reschedule_url=f"{url}/reschedule" if movable else None,
                ics_url=f"{url}.ics",
                version=row.version,
            )
        )
    return SourceItems(items, hidden)


def owner_choices(user, q: CalendarQuery) -> list[tuple[str, str]]:
    """(value, label) for the "whose calendar" select: oneself, everyone, each manager (the
    user's default calendar has the value "", as its links leave `user` out)."""
    choices = [
        (owner_param(user, "me"), _("Me (%(name)s)", name=user.display_name)),
        (owner_param(user, "all"), _("Everyone")),
    ]
    users = [u for u in queries.assignable_users() if u.id != user.id]
    if q.owner_ids and q.owner_ids[0] != user.id and all(u.id != q.owner_ids[0] for u in users):
        users.append(db.session.get(User, q.owner_ids[0]))
    choices += [(str(u.id), u.display_name) for u in users]
    return choices


def calendar_context(args, *, notice: str = "", error: str = "") -> dict:
    """Everything the calendar body shows for the request's view, date and owner."""
    zone_name = zone()
    now = utcnow()
    today = to_zone(now, zone_name).date()
    q = parse_query(args, current_user, today)
    period = period_of(q.view, q.day)
    start = from_zone(datetime.combine(period.first, time.min), zone_name)
    end = from_zone(datetime.combine(period.end, time.min), zone_name)
    per_day = PER_DAY.get(q.view)
    found = calendar_items(
        CalendarWindow(current_user, start, end, q.owner_ids, zone_name, per_day)
    )
    entries = bucket(found.items, period.days, zone_name)
    item_total = len(found.items) + sum(found.hidden.values())
    ctx = {
        "q": q,
        "period": period,
        "views": VIEWS,
        "today": today,
        "zone": zone_name,
        "entries": entries,
        "hidden": found.hidden,
        "notice": notice,
        "error": error,
        "item_count": item_total,
        "csrf": generate_csrf(),
        "prev_date": clamp(period.prev),
        "next_date": clamp(period.next),
        "hours": list(range(FIRST_HOUR, LAST_HOUR + 1)),
        "first_hour": FIRST_HOUR,
        "last_hour": LAST_HOUR,
        "may_choose_owner": may(current_user, "calendar.view_others"),
        # For the script that asks before a move into the past (the reader's wall clock).
        "local_now": input_value(to_zone(now, zone_name)),
        "weekdays": weekday_names(),
        "day_heading": day_heading,
        "item_count_label": ngettext(
            "%(num)s item", "%(num)s items", item_total, num=count_label(item_total)
        ),
    }
    if q.view in ("week", "day"):
        ctx["columns"] = columns(entries)
    elif q.view == "month":
        days = period.days
        ctx["weeks"] = [days[n : n + 7] for n in range(0, len(days), 7)]
    if ctx["may_choose_owner"]:
        ctx["owners"] = owner_choices(current_user, q)
    return ctx


def feed_context(new_token: str | None = None) -> dict:
    feed = feeds.active_feed(current_user)
    url = url_for("interactions.feed", token=new_token, _external=True) if new_token else None
    return {
        "feed": feed,
        "feed_url": url,
        "feed_past": FEED_PAST.days,
        "feed_ahead": FEED_AHEAD.days,
    }


# --- pages ----------------------------------------------------------------------------------


@bp.route("/calendar")
def calendar():
    """The event calendar: month, week, day or agenda of one user (or everyone)."""
    ctx = calendar_context(request.args)
    if not is_fragment_request():
        ctx.update(feed_context())
    return render("interactions/calendar.html", "interactions/_calendar_body.html", **ctx)


@bp.route("/<int:interaction_id>/reschedule", methods=["POST"])
def reschedule(interaction_id: int):
    """Move an interaction to a new start (a drop in the calendar, or the move buttons)."""
    i = load_interaction(interaction_id, edit=True)
    # A one-tap button sends starts_at; the "move to" field sends move_to (see _calendar_macros).
    raw = (request.form.get("starts_at") or request.form.get("move_to") or "").strip()
    form = MoveForm()

    def move() -> str | Response:
        if not form.validate():
            raise DomainError(" ".join(form.version.errors))
        starts_at = parse_new_start(raw)
        if starts_at < utcnow() and request.form.get("confirm") != "1":
            db.session.rollback()
            return _ask_past_move(i, starts_at)
        services.reschedule(current_user, i, starts_at, version=submitted_version(form))
        title = i.display_title
        return _("“%(title)s” moved to %(when)s.", title=title, when=fmt_datetime(starts_at))

    return move_and_answer(move)


def _ask_past_move(i, starts_at: datetime):
    """A move into the past is asked about first (see `ask_past_move`). The page's script asks
    before sending (static/js/app.js); this catches a page drawn long ago, and works without
    JavaScript."""
    return ask_past_move(
        url_for("interactions.reschedule", interaction_id=i.id),
        _(
            "“%(title)s” would move to %(when)s, which is in the past. Move it there?",
            title=i.display_title,
            when=fmt_datetime(starts_at),
        ),
        input_value(to_zone(starts_at, zone())),
    )


def ask_past_move(url: str, question: str, value: str):
    """The question before a move into the past: the calendar again, unchanged, with
    `question` and a button that posts the same move (`value`, the version sent) to `url`
    confirmed (`confirm=1`). Any calendar item's move view uses it (deals: crm/deals/
    calendar_moves.py)."""
    ctx = calendar_context(request.form)
    ctx["ask_past"] = {
        "url": url,
        "question": question,
        "value": value,
        "version": request.form.get("version", ""),
    }
    if is_fragment_request():
        return render("interactions/calendar.html", "interactions/_calendar_body.html", **ctx)
    ctx.update(feed_context())
    return render("interactions/calendar.html", **ctx)


def parse_new_start(raw: str) -> datetime:
    """A `datetime-local` value in the user's zone as naive UTC; DomainError if it is none."""
    if not raw:
        raise DomainError(_("Choose the new date and time; nothing was moved."))
    try:
        if not LOCAL_VALUE.fullmatch(raw):
            raise ValueError(raw)
        return parse_local(raw, zone())
    except OutOfRange:
        raise DomainError(
            _(
                "Choose a date between %(first)s and %(last)s; nothing was moved.",
                first=MIN_DATE.year,
                last=MAX_DATE.year,
            )
        ) from None
    except ValueError:
        raise DomainError(
            _(
                "%(value)s is not a date and time (YYYY-MM-DDTHH:MM); nothing was moved.",
                value=repr(raw[:30]),
            )
        ) from None


def move_and_answer(move: Callable[[], str | Response]):
    """Run a calendar item's move and answer with the calendar it was made from. `move()`
    flushes the change and returns the notice to show, or a response to send as it is (the
    question before a move into the past, `ask_past_move`); it raises DomainError (the message
    is shown), StaleRecord (the calendar is redrawn as it is now, with what changed: the user
    decides again where it goes) or PermissionDenied (403). Any calendar item's move view uses
    it (deals: crm/deals/calendar_moves.py)."""
    try:
        notice = move()
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    except StaleRecord as exc:
        db.session.rollback()
        return _after_reschedule(error=_("Nothing was moved."), conflict=exc, status=409)
    except DomainError as exc:
        db.session.rollback()
        return _after_reschedule(error=exc.message, status=422)
    if not isinstance(notice, str):
        return notice
    db.session.commit()
    return _after_reschedule(notice=notice)


def _after_reschedule(notice: str = "", error: str = "", status: int = 200, conflict=None):
    """The calendar the move was made from: its body for HTMX, else the page (errors) or a
    redirect back to it."""
    ctx = calendar_context(request.form, notice=notice, error=error)
    ctx["conflict"] = conflict
    if is_fragment_request():
        return render(
            "interactions/calendar.html", "interactions/_calendar_body.html", status=status, **ctx
        )
    if error:
        ctx.update(feed_context())
        return render("interactions/calendar.html", status=status, **ctx)
    flash(notice, "success")
    return redirect(url_for("interactions.calendar", **ctx["q"].params()))


@bp.route("/<int:interaction_id>.ics")
def ics(interaction_id: int):
    """One interaction as an .ics file, to add it to another calendar by hand."""
    i = load_interaction(interaction_id)
    body = ical.calendar_for([i])
    response = make_response(body)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f"attachment; filename=interaction-{i.id}.ics"
    return response
