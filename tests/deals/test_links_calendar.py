"""Deals in the event calendar: the expected close dates of open deals as all-day items on the
responsible manager's calendar, inside the window's local days only, for those who may see the
deal, capped per day with the rest counted, overdue once the date has passed. Expected items
are worked out by hand from the fixture (Asia/Vladivostok is UTC+10 all year)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest

from crm.core.timeutil import from_zone, to_zone, utcnow
from crm.deals.calendar import calendar_source_items
from crm.interactions.calendar import CalendarWindow, calendar_sources

HX = {"HX-Request": "true"}
ZONE = "Asia/Vladivostok"


@pytest.fixture
def week(make_user, make_partner, make_deal_kind, make_deal):
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


def window(user, first: date, owner_ids=None, per_day=None, days=7) -> CalendarWindow:
    start = from_zone(datetime.combine(first, time.min), ZONE)
    end = from_zone(datetime.combine(first + timedelta(days=days), time.min), ZONE)
    return CalendarWindow(user, start, end, owner_ids, ZONE, per_day)


def keys(found) -> list[str]:
    return [i.key for i in found.items]


def test_deals_are_a_calendar_source(app):
    assert "deals" in [s.key for s in calendar_sources()]


def test_items_are_the_open_deals_closing_within_the_local_days_of_the_window(app, week):
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
    assert item.reschedule_url is None and item.ics_url is None
    assert item.version == w["due_today"].version
    # Overdue once the expected close date has passed (the first day is two days ago).
    assert [i.overdue for i in found.items] == [True, False, False, False, False]
    assert found.hidden == {}


def test_a_manager_sees_his_deals_and_those_he_takes_part_in(app, week):
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


def test_owner_filter_picks_the_managers_calendars(app, week):
    w = week
    petrs = calendar_source_items(window(w["viewer"], w["first"], owner_ids=[w["petr"].id]))
    assert keys(petrs) == [f"deal-{w['petrs'].id}", f"deal-{w['shared'].id}"]
    nobody = calendar_source_items(window(w["viewer"], w["first"], owner_ids=[w["viewer"].id]))
    assert keys(nobody) == []


def test_a_busy_day_shows_per_day_items_and_counts_the_rest(app, week):
    w = week
    found = calendar_source_items(window(w["viewer"], w["first"], per_day=1))
    # Today has A2, B1, B2: the first by number is shown, two are counted.
    assert keys(found) == [
        f"deal-{w['first_day'].id}",
        f"deal-{w['due_today'].id}",
        f"deal-{w['last_day'].id}",
    ]
    assert found.hidden == {w["today"]: 2}


def test_a_one_day_window(app, week):
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
