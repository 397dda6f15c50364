"""Deals in the event calendar: the expected close dates of open deals as all-day items on the
responsible manager's calendar, inside the window's local days only, for those who may see the
deal, capped per day with the rest counted, overdue once the date has passed. Expected items
are worked out by hand from the fixture (Asia/Vladivostok is UTC+10 all year)."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, time, timedelta

import pytest

from crm.core.timeutil import from_zone, to_zone, utcnow
from crm.deals.calendar import calendar_source_items
from crm.deals.models import Deal
from crm.extensions import db
from crm.interactions.calendar import CalendarWindow, calendar_sources

HX = {"HX-Request": "true"}
ZONE = "Asia/Vladivostok"


@pytest.fixture
def week(app, make_user, make_partner, make_deal_kind, make_deal):
    ivan = make_user("manager", name="Иван", locale="en")
    petr = make_user("manager", name="Пётр", locale="en")
    viewer = make_user("viewer", name="Вера", locale="en")
    partner = make_partner(name="ООО Ромашка", responsible=ivan)
    kind = make_deal_kind()
    today = to_zone(utcnow(), ZONE).date()
    first = today - timedelta(days=2)  # the window: seven local days from here

    def deal(no, manager, close, **kw):
        return make_deal(
            partner, kind, manager, deal_no=no, title=f"Deal {no}", expected_close=close, **kw
        )

    d = {
        "first_day": deal("A1", ivan, first),
        "due_today": deal("A2", ivan, today),
        "last_day": deal("A3", ivan, first + timedelta(days=6)),
        "before": deal("A4", ivan, first - timedelta(days=1)),
        "after": deal("A5", ivan, first + timedelta(days=7)),
        "won": deal("A6", ivan, today, status="won"),
        "lost": deal("A7", ivan, today, status="lost", loss_reason="Price"),
        "petrs": deal("B1", petr, today),
        "shared": deal("B2", petr, today, participants=[ivan]),
    }
    return {"ivan": ivan, "petr": petr, "viewer": viewer, "today": today, "first": first, **d}


@pytest.fixture
def in_request(app):
    """The source builds its links with url_for, as it does inside the calendar's request."""
    with app.test_request_context():
        yield


def window(user, first: date, owner_ids=None, per_day=None, days=7) -> CalendarWindow:
    start = from_zone(datetime.combine(first, time.min), ZONE)
    end = from_zone(datetime.combine(first + timedelta(days=days), time.min), ZONE)
    return CalendarWindow(user, start, end, owner_ids, ZONE, per_day)


def keys(found) -> list[str]:
    return [i.key for i in found.items]


def test_deals_are_a_calendar_source(app):
    assert "deals" in [s.key for s in calendar_sources()]


def test_items_are_the_open_deals_closing_within_the_local_days_of_the_window(in_request, week):
    w = week
    found = calendar_source_items(window(w["viewer"], w["first"]))
    # In date order, then by number; the day before and the day after the window are out (in
    # UTC the window starts on the day before: the local days count), closed deals are out.
    assert keys(found) == [
        f"deal-{w['first_day'].id}",
        f"deal-{w['due_today'].id}",
        f"deal-{w['petrs'].id}",
        f"deal-{w['shared'].id}",
        f"deal-{w['last_day'].id}",
    ]
    item = found.items[1]
    assert item.all_day and item.kind == "deal"
    assert item.starts_at == item.ends_at == datetime.combine(w["today"], time.min)
    assert item.title == "A2 — Deal A2" and item.subtitle == "ООО Ромашка"
    assert item.url == f"/deals/{w['due_today'].id}"
    # The viewer may not move it (see below for who may).
    assert item.reschedule_url is None and item.ics_url is None
    assert item.version == w["due_today"].version
    # Overdue once the expected close date has passed (the first day is two days ago).
    assert [i.overdue for i in found.items] == [True, False, False, False, False]
    assert found.hidden == {}


def test_a_manager_sees_his_deals_and_those_he_takes_part_in(in_request, week):
    w = week
    everything = calendar_source_items(window(w["ivan"], w["first"]))
    assert f"deal-{w['petrs'].id}" not in keys(everything)
    assert f"deal-{w['shared'].id}" in keys(everything)
    # His own calendar: the deals he is responsible for.
    own = calendar_source_items(window(w["ivan"], w["first"], owner_ids=[w["ivan"].id]))
    assert keys(own) == [
        f"deal-{w['first_day'].id}",
        f"deal-{w['due_today'].id}",
        f"deal-{w['last_day'].id}",
    ]
    # Pëtr's calendar seen by Ivan: only what Ivan may see of it.
    petrs = calendar_source_items(window(w["ivan"], w["first"], owner_ids=[w["petr"].id]))
    assert keys(petrs) == [f"deal-{w['shared'].id}"]


def test_owner_filter_picks_the_managers_calendars(in_request, week):
    w = week
    petrs = calendar_source_items(window(w["viewer"], w["first"], owner_ids=[w["petr"].id]))
    assert keys(petrs) == [f"deal-{w['petrs'].id}", f"deal-{w['shared'].id}"]
    nobody = calendar_source_items(window(w["viewer"], w["first"], owner_ids=[w["viewer"].id]))
    assert keys(nobody) == []


def test_a_busy_day_shows_per_day_items_and_counts_the_rest(in_request, week):
    w = week
    found = calendar_source_items(window(w["viewer"], w["first"], per_day=1))
    # Today has A2, B1, B2: the first by number is shown, two are counted.
    assert keys(found) == [
        f"deal-{w['first_day'].id}",
        f"deal-{w['due_today'].id}",
        f"deal-{w['last_day'].id}",
    ]
    assert found.hidden == {w["today"]: 2}


def test_a_one_day_window(in_request, week):
    w = week
    found = calendar_source_items(window(w["ivan"], w["today"], days=1))
    assert keys(found) == [f"deal-{w['due_today'].id}", f"deal-{w['shared'].id}"]


def places(body: str) -> dict[str, str]:
    """{item key: the data-day of the all-day cell it sits in} of a week view."""
    found = {}
    for cell in re.finditer(r'class="cal-cell cal-allday[^"]*"[^>]*data-day="([^"]+)"', body):
        end = body.find('class="cal-cell', cell.end())
        for key in re.findall(r'data-item-key="([^"]+)"', body[cell.end() : end]):
            found[key] = cell.group(1)
    return found


def test_week_view_shows_close_dates_as_all_day_items(client, login_as, week):
    w = week
    login_as(w["viewer"])
    response = client.get(
        "/interactions/calendar",
        query_string={"view": "week", "date": w["today"].isoformat(), "user": "all"},
        headers=HX,
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body
    shown = places(body)
    assert shown[f"deal-{w['due_today'].id}"] == w["today"].isoformat()
    assert shown[f"deal-{w['petrs'].id}"] == w["today"].isoformat()
    assert f"deal-{w['won'].id}" not in shown
    assert "cal-kind-deal" in body
    # Ivan's own calendar (his default): his deals, not Pëtr's.
    login_as(w["ivan"])
    body = client.get(
        "/interactions/calendar",
        query_string={"view": "week", "date": w["today"].isoformat()},
        headers=HX,
    ).get_data(as_text=True)
    shown = places(body)
    assert shown[f"deal-{w['due_today'].id}"] == w["today"].isoformat()
    assert f"deal-{w['petrs'].id}" not in shown and f"deal-{w['shared'].id}" not in shown


# --- moving the expected close date ----------------------------------------------------------


def test_who_may_edit_the_deal_may_move_its_date(in_request, week, make_user):
    w = week
    as_ivan = {i.key: i for i in calendar_source_items(window(w["ivan"], w["first"])).items}
    assert as_ivan[f"deal-{w['due_today'].id}"].reschedule_url == (
        f"/deals/{w['due_today'].id}/expected-close"
    )
    # He takes part in Pëtr's deal: he sees it, only Pëtr (and admins) change its date.
    assert as_ivan[f"deal-{w['shared'].id}"].reschedule_url is None
    as_viewer = calendar_source_items(window(w["viewer"], w["first"])).items
    assert all(i.reschedule_url is None for i in as_viewer)
    admin = make_user("admin")
    as_admin = calendar_source_items(window(admin, w["first"])).items
    assert all(i.reschedule_url == f"/deals/{i.key[5:]}/expected-close" for i in as_admin)


def move(client, deal, value: str, **extra):
    data = {"starts_at": value, "view": "week", "date": value[:10], "user": "", **extra}
    return client.post(f"/deals/{deal.id}/expected-close", data=data, headers=HX)


def fresh(deal):
    db.session.expire_all()
    return db.session.get(Deal, deal.id)


def test_moving_the_close_date_redraws_the_calendar(client, login_as, week):
    w = week
    deal, later = w["due_today"], w["today"] + timedelta(days=5)
    login_as(w["ivan"])
    response = move(client, deal, f"{later.isoformat()}T00:00", version=str(deal.version))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<html" not in page and "is now expected to close on" in page
    row = fresh(deal)
    assert row.expected_close == later and row.version == 2
    assert places(page)[f"deal-{deal.id}"] == later.isoformat()


def test_all_day_items_move_by_days_only(client, login_as, week):
    w = week
    login_as(w["ivan"])
    body = client.get(
        "/interactions/calendar",
        query_string={"view": "week", "date": w["today"].isoformat()},
        headers=HX,
    ).get_data(as_text=True)
    item = body.split(f'data-item-key="deal-{w["due_today"].id}"')[1].split("</details>")[0]
    assert f'action="/deals/{w["due_today"].id}/expected-close"' in item
    assert "+1 day" in item and "−1 day" in item and "+1 hour" not in item


def test_a_stale_move_is_refused(client, login_as, week):
    w = week
    deal = w["due_today"]
    login_as(w["ivan"])
    first = move(client, deal, f"{(w['today'] + timedelta(days=1)).isoformat()}T00:00", version="1")
    assert first.status_code == 200
    # Drawn before that move: version 1 again.
    second = move(
        client, deal, f"{(w['today'] + timedelta(days=4)).isoformat()}T00:00", version="1"
    )
    assert second.status_code == 409
    assert "Nothing was moved." in second.get_data(as_text=True)
    assert fresh(deal).expected_close == w["today"] + timedelta(days=1)


def test_a_date_in_the_past_asks_first(client, login_as, week):
    w = week
    deal, past = w["due_today"], w["today"] - timedelta(days=3)
    login_as(w["ivan"])
    asked = move(client, deal, f"{past.isoformat()}T00:00", version="1")
    assert asked.status_code == 200
    assert 'id="calendar-confirm-past"' in asked.get_data(as_text=True)
    assert fresh(deal).expected_close == w["today"]
    done = move(client, deal, f"{past.isoformat()}T00:00", version="1", confirm="1")
    assert done.status_code == 200
    assert fresh(deal).expected_close == past
    # Today itself is not the past.
    again = move(client, deal, f"{w['today'].isoformat()}T00:00", version="2")
    assert 'id="calendar-confirm-past"' not in again.get_data(as_text=True)
    assert fresh(deal).expected_close == w["today"]


def test_moves_refused_with_a_reason(client, login_as, week):
    w = week
    login_as(w["ivan"])
    tomorrow = f"{(w['today'] + timedelta(days=1)).isoformat()}T00:00"
    bad = move(client, w["due_today"], "tomorrow")
    assert bad.status_code == 422 and "nothing was moved" in bad.get_data(as_text=True)
    closed = move(client, w["won"], tomorrow)
    assert closed.status_code == 422
    assert "Only an open deal's expected close date moves." in html.unescape(
        closed.get_data(as_text=True)
    )
    # Taking part is not enough; someone else's deal is not even visible.
    assert move(client, w["shared"], tomorrow).status_code == 403
    assert move(client, w["petrs"], tomorrow).status_code == 403
    assert (
        client.post("/deals/999999/expected-close", data={"starts_at": tomorrow}).status_code == 404
    )
    # Viewers never post.
    login_as(w["viewer"])
    assert move(client, w["due_today"], tomorrow).status_code == 403
    assert fresh(w["due_today"]).expected_close == w["today"]


def test_without_javascript_the_move_field_redirects_back_to_the_calendar(client, login_as, week):
    w = week
    later = w["today"] + timedelta(days=2)
    login_as(w["ivan"])
    response = client.post(
        f"/deals/{w['due_today'].id}/expected-close",
        data={"move_to": f"{later.isoformat()}T09:30", "version": "1", "view": "month"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/interactions/calendar")
    assert fresh(w["due_today"]).expected_close == later
