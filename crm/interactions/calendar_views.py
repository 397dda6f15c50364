"""The event calendar (day, week, month, agenda), rescheduling, the iCalendar feed and .ics.

The calendar is laid out in the signed-in user's zone: a period's bounds are local midnights
turned into UTC for the query, and items are placed on the local days they cover.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import abort, flash, make_response, redirect, request, url_for
from flask_login import current_user

from crm.access import public, viewer_may_post
from crm.auth.models import User
from crm.core.errors import DomainError, PermissionDenied
from crm.core.timeutil import from_zone, parse_local, to_zone, user_zone, utcnow
from crm.extensions import db
from crm.htmx import is_fragment_request, render
from crm.interactions import bp, feeds, ical, queries, services
from crm.interactions.calendar import CalendarItem, calendar_items

VIEWS = {"day": "Day", "week": "Week", "month": "Month", "agenda": "Agenda"}
DEFAULT_VIEW = "month"
AGENDA_DAYS = 30
# Hour rows of the week and day views; items outside go to an "earlier" / "later" row.
FIRST_HOUR, LAST_HOUR = 7, 21
# Dates the calendar can page to (a month grid reaches a week either side of its month).
MIN_DATE, MAX_DATE = date(1900, 1, 1), date(2999, 12, 31)
# The feed: what a calendar program gets (older and later items are left out to keep it small).
FEED_PAST, FEED_AHEAD = timedelta(days=90), timedelta(days=365)
CLOSED_STATUSES = ("completed", "cancelled")
LOCAL_INPUT = "%Y-%m-%dT%H:%M"
LOCAL_VALUE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", re.ASCII)


def zone() -> str:
    return user_zone(current_user)


# --- the calendar source of interactions -----------------------------------------------------


def calendar_source_items(user, start, end, owner_ids):
    """Interactions overlapping [start, end) (UTC) as calendar items (the registered source)."""
    now = utcnow()
    items = []
    for i in queries.in_range(user, start, end, owner_ids):
        movable = i.status not in CLOSED_STATUSES and queries.can_edit(user, i)
        items.append(CalendarItem(
            key=f"interaction-{i.id}", title=i.display_title, starts_at=i.starts_at,
            ends_at=i.ends_at or i.starts_at,
            url=url_for("interactions.detail", interaction_id=i.id), kind=i.kind,
            kind_title=i.kind_title, subtitle=i.contact_label, status=i.status,
            unprocessed=i.is_unprocessed(now), overdue=i.is_overdue(now),
            reschedule_url=url_for("interactions.reschedule", interaction_id=i.id)
            if movable else None,
            ics_url=url_for("interactions.ics", interaction_id=i.id)))  # fmt: skip
    return items


# --- what the request asks for ------------------------------------------------------------


@dataclass
class CalendarQuery:
    """The view, date and whose calendar, parsed from the query string (or a form): bad
    values fall back to a default and leave a message in `problems`."""

    view: str
    day: date
    user_param: str  # "" (one's own), "all", or a user id
    owner_ids: list[int] | None  # None: every item the signed-in user may see
    owner_label: str
    problems: list[str] = field(default_factory=list)

    def params(self, **changes) -> dict:
        values = {"view": self.view, "date": self.day.isoformat(), "user": self.user_param}
        values.update(changes)
        if isinstance(values["date"], date):
            values["date"] = values["date"].isoformat()
        return {k: v for k, v in values.items() if v}


def may_choose_owner(user) -> bool:
    """Managers see their own calendar only; the other roles may look at anyone's."""
    return user.role != "manager"


def parse_query(args, user, today: date) -> CalendarQuery:
    problems: list[str] = []
    view = (args.get("view") or DEFAULT_VIEW).strip()
    if view not in VIEWS:
        problems.append(f"There is no calendar view {view[:20]!r}; showing the month.")
        view = DEFAULT_VIEW
    raw_date = (args.get("date") or "").strip()
    day = today
    if raw_date:
        try:
            day = date.fromisoformat(raw_date)
        except ValueError:
            problems.append(f"{raw_date[:20]!r} is not a date (YYYY-MM-DD); showing today.")
        else:
            if not MIN_DATE <= day <= MAX_DATE:
                problems.append(f"Choose a date between {MIN_DATE.year} and {MAX_DATE.year}; "
                                "showing today.")  # fmt: skip
                day = today
    param, owner_ids, label = _owner(args.get("user"), user, problems)
    return CalendarQuery(view, day, param, owner_ids, label, problems)


def _owner(raw, user, problems: list[str]) -> tuple[str, list[int] | None, str]:
    raw = (raw or "").strip()
    own = ("", [user.id], "My calendar")
    if raw in ("", "me", str(user.id)):
        return own
    if not may_choose_owner(user):
        problems.append("You can see only your own calendar (and what you take part in); "
                        "showing yours.")  # fmt: skip
        return own
    if raw == "all":
        return "all", None, "Everyone"
    other = None
    if raw.isascii() and raw.isdigit() and len(raw) < 10:  # "²".isdigit(), and int() limits
        other = db.session.get(User, int(raw))
    if other is None:
        problems.append(f"There is no user {raw[:20]!r}; showing your calendar.")
        return own
    return str(other.id), [other.id], other.display_name


# --- periods and layout ---------------------------------------------------------------------


@dataclass
class Period:
    first: date  # the first day shown
    end: date  # the day after the last one shown
    label: str
    prev: date
    next: date
    month: int | None = None  # the month view's month (days of others are dimmed)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.end - self.first).days)]


def _add_months(day: date, n: int) -> date:
    month = day.month - 1 + n
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def _span_label(first: date, last: date) -> str:
    if first.year != last.year:
        return f"{first:%-d %b %Y} – {last:%-d %b %Y}"
    if first.month != last.month:
        return f"{first:%-d %b} – {last:%-d %b %Y}"
    return f"{first.day} – {last:%-d %B %Y}"


def period_of(view: str, day: date) -> Period:
    """The days a view shows around `day`; weeks start on Monday."""
    if view == "day":
        return Period(day, day + timedelta(days=1), f"{day:%A, %-d %B %Y}",
                      day - timedelta(days=1), day + timedelta(days=1))  # fmt: skip
    if view == "week":
        first = day - timedelta(days=day.weekday())
        return Period(first, first + timedelta(days=7),
                      _span_label(first, first + timedelta(days=6)),
                      day - timedelta(days=7), day + timedelta(days=7))  # fmt: skip
    if view == "agenda":
        last = day + timedelta(days=AGENDA_DAYS - 1)
        return Period(day, last + timedelta(days=1), _span_label(day, last),
                      day - timedelta(days=AGENDA_DAYS), day + timedelta(days=AGENDA_DAYS))  # fmt: skip
    month_first = day.replace(day=1)
    month_last = month_first.replace(day=monthrange(day.year, day.month)[1])
    first = month_first - timedelta(days=month_first.weekday())
    end = month_last + timedelta(days=7 - month_last.weekday())
    return Period(first, end, f"{day:%B %Y}", _add_months(month_first, -1),
                  _add_months(month_first, 1), month=day.month)  # fmt: skip


def _clamp(day: date) -> date:
    return min(max(day, MIN_DATE), MAX_DATE)


@dataclass
class Entry:
    """One item as shown on one local day."""

    item: CalendarItem
    start: datetime  # local, naive
    end: datetime  # local, naive
    continued: bool = False  # began on an earlier day

    @property
    def hour(self) -> int:
        return self.start.hour

    @property
    def time_label(self) -> str:
        if self.item.all_day:
            return "All day"
        if self.continued:
            return f"…–{self.end:%H:%M}" if self.end > self.start else "…"
        if self.end > self.start:
            if self.end.date() == self.start.date():
                return f"{self.start:%H:%M}–{self.end:%H:%M}"
            return f"{self.start:%H:%M}–{self.end:%-d %b %H:%M}"
        return f"{self.start:%H:%M}"

    @property
    def short_time(self) -> str:
        """The start only, for a month cell."""
        if self.item.all_day:
            return "All day"
        return "…" if self.continued else f"{self.start:%H:%M}"

    @property
    def when(self) -> str:
        """The full local time range, for the item's details."""
        if self.item.all_day:
            return f"{self.start:%a %-d %b %Y}, all day"
        text = f"{self.start:%a %-d %b %Y, %H:%M}"
        if self.end > self.start:
            same_day = self.end.date() == self.start.date()
            text += f" – {self.end:%H:%M}" if same_day else f" – {self.end:%a %-d %b, %H:%M}"
        return text

    @property
    def local_start(self) -> str:
        return self.start.strftime(LOCAL_INPUT)

    @property
    def moves(self) -> list[tuple[str, str]]:
        """One-tap moves (label, new local start): wall-clock days keep the time across a
        change to or from summer time."""
        if not self.item.reschedule_url:
            return []
        shifts = (("−1 day", timedelta(days=-1)), ("+1 day", timedelta(days=1)),
                  ("+1 hour", timedelta(hours=1)))  # fmt: skip
        return [(label, (self.start + delta).strftime(LOCAL_INPUT)) for label, delta in shifts]


def _local_span(item: CalendarItem, zone_name: str) -> tuple[datetime, datetime]:
    if item.all_day:
        # All-day items carry calendar dates, the same in every zone (as iCalendar's DATE).
        return item.starts_at, max(item.ends_at, item.starts_at)
    start = to_zone(item.starts_at, zone_name).replace(tzinfo=None)
    end = to_zone(max(item.ends_at, item.starts_at), zone_name).replace(tzinfo=None)
    return start, end


def bucket(items: list[CalendarItem], days: list[date], zone_name: str) -> dict[date, list[Entry]]:
    """Items by the local days they cover (a meeting past midnight shows on both days)."""
    out: dict[date, list[Entry]] = {d: [] for d in days}
    for item in items:
        start, end = _local_span(item, zone_name)
        last = start.date()
        if end > start:
            # An item ending at midnight does not reach into the next day.
            last = (end - timedelta(microseconds=1)).date()
            if item.all_day and end.time() != time.min:
                last = end.date()
        day = start.date()
        while day <= last:
            if day in out:
                out[day].append(Entry(item, start, end, continued=day != start.date()))
            day += timedelta(days=1)
    return out


@dataclass
class DayColumn:
    """A day of the week/day view split into rows: all-day, earlier, each hour, later."""

    day: date
    all_day: list[Entry] = field(default_factory=list)
    earlier: list[Entry] = field(default_factory=list)
    hours: dict[int, list[Entry]] = field(default_factory=dict)
    later: list[Entry] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.all_day or self.earlier or self.later or any(self.hours.values()))


def columns(entries: dict[date, list[Entry]]) -> list[DayColumn]:
    out = []
    for day, day_entries in entries.items():
        col = DayColumn(day, hours={h: [] for h in range(FIRST_HOUR, LAST_HOUR + 1)})
        for e in day_entries:
            if e.item.all_day or e.continued:
                col.all_day.append(e)
            elif e.hour < FIRST_HOUR:
                col.earlier.append(e)
            elif e.hour > LAST_HOUR:
                col.later.append(e)
            else:
                col.hours[e.hour].append(e)
        out.append(col)
    return out


def owner_choices(user, q: CalendarQuery) -> list[tuple[str, str]]:
    """(value, label) for the "whose calendar" select: oneself, everyone, each manager."""
    choices = [("", f"Me ({user.display_name})"), ("all", "Everyone")]
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
    items = calendar_items(current_user, start, end, q.owner_ids)
    entries = bucket(items, period.days, zone_name)
    ctx = {
        "q": q, "period": period, "views": VIEWS, "today": today, "zone": zone_name,
        "entries": entries, "item_count": len(items), "notice": notice, "error": error,
        "prev_date": _clamp(period.prev), "next_date": _clamp(period.next),
        "hours": list(range(FIRST_HOUR, LAST_HOUR + 1)),
        "first_hour": FIRST_HOUR, "last_hour": LAST_HOUR,
        "may_choose_owner": may_choose_owner(current_user),
    }  # fmt: skip
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
    return {"feed": feed, "feed_url": url, "feed_past": FEED_PAST.days,
            "feed_ahead": FEED_AHEAD.days}  # fmt: skip


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
    i = queries.get_interaction(interaction_id)
    if i is None:
        abort(404)
    if not queries.can_edit(current_user, i):
        abort(403)
    raw = (request.form.get("starts_at") or "").strip()
    try:
        starts_at = parse_new_start(raw)
        services.reschedule(current_user, i, starts_at)
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    except DomainError as exc:
        db.session.rollback()
        return _after_reschedule(error=exc.message, status=422)
    title = i.display_title
    db.session.commit()
    local = to_zone(starts_at, zone())
    return _after_reschedule(notice=f"“{title}” moved to {local:%a %-d %b %Y, %H:%M}.")


def parse_new_start(raw: str) -> datetime:
    """A `datetime-local` value in the user's zone as naive UTC; DomainError if it is none."""
    if not raw:
        raise DomainError("Choose the new date and time; nothing was moved.")
    try:
        if not LOCAL_VALUE.fullmatch(raw):
            raise ValueError(raw)
        local = datetime.fromisoformat(raw)
        if not MIN_DATE <= local.date() <= MAX_DATE:
            raise DomainError(f"Choose a date between {MIN_DATE.year} and {MAX_DATE.year}; "
                              "nothing was moved.")  # fmt: skip
        return parse_local(raw, zone())
    except (ValueError, OverflowError):
        raise DomainError(f"{raw[:30]!r} is not a date and time (YYYY-MM-DDTHH:MM); "
                          "nothing was moved.") from None  # fmt: skip


def _after_reschedule(notice: str = "", error: str = "", status: int = 200):
    """The calendar the move was made from: its body for HTMX, else the page (errors) or a
    redirect back to it."""
    ctx = calendar_context(request.form, notice=notice, error=error)
    if is_fragment_request():
        return render("interactions/calendar.html", "interactions/_calendar_body.html",
                      status=status, **ctx)  # fmt: skip
    if error:
        ctx.update(feed_context())
        return render("interactions/calendar.html", status=status, **ctx)
    flash(notice, "success")
    return redirect(url_for("interactions.calendar", **ctx["q"].params()))


@bp.route("/<int:interaction_id>.ics")
def ics(interaction_id: int):
    """One interaction as an .ics file, to add it to another calendar by hand."""
    i = queries.get_interaction(interaction_id)
    if i is None:
        abort(404)
    if not queries.can_view(current_user, i):
        abort(403)
    body = ical.calendar_for([i])
    response = make_response(body)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f"attachment; filename=interaction-{i.id}.ics"
    return response


# --- the private feed -----------------------------------------------------------------------


@bp.route("/feed/<token>.ics")
@public
def feed(token: str):
    """A user's private iCalendar feed, for calendar programs that subscribe to a URL.

    It holds exactly that user's own items — interactions he is responsible for or takes part
    in — from 90 days back to 365 days ahead. Unknown and revoked links, and links of a
    deactivated user, answer 404."""
    user = feeds.user_for_token(token)
    if user is None:
        abort(404)
    now = utcnow()
    items = queries.in_range(user, now - FEED_PAST, now + FEED_AHEAD, owner_ids=[user.id])
    body = ical.calendar_for(items, name=f"CRM — {user.display_name}",
                             uid=f"crm-calendar-{user.id}@{ical.uid_host()}")  # fmt: skip
    db.session.commit()  # when the link was last used
    response = make_response(body)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "private, no-cache"
    # The URL is the secret: keep it out of Referer headers and search engines.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    # Calendar programs poll: an unchanged feed answers 304 to a matching If-None-Match.
    response.add_etag()
    return response.make_conditional(request)


def _feed_response(new_token: str | None = None, message: str = ""):
    if is_fragment_request():
        response = render("interactions/_calendar_feed.html", message=message,
                          **feed_context(new_token))  # fmt: skip
    else:
        ctx = calendar_context(request.args)
        ctx.update(feed_context(new_token), feed_message=message, feed_open=True)
        response = render("interactions/calendar.html", **ctx)
    # The link is shown this once: never from a cache, never through the session cookie.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/calendar/feed", methods=["POST"])
@viewer_may_post
def feed_create():
    """Make a new private feed link (any old one stops working); it is shown this once."""
    token = feeds.create_feed(current_user)
    db.session.commit()
    return _feed_response(token)


@bp.route("/calendar/feed/revoke", methods=["POST"])
@viewer_may_post
def feed_revoke():
    """Revoke one's feed link: calendar programs using it get nothing more."""
    revoked = feeds.revoke_feed(current_user)
    db.session.commit()
    message = "The feed link is revoked." if revoked else "There was no feed link to revoke."
    if not is_fragment_request():
        flash(message, "success")
        return redirect(url_for("interactions.calendar", _anchor="calendar-feed"))
    return _feed_response(message=message)
