"""The event calendar: items on the right local day and hour in each view and zone, whose
calendar one may see, HTMX fragments, bad parameters, and moving items (rescheduling).

Expected places are worked out by hand from the zone rules: Asia/Vladivostok is UTC+10 all
year; America/New_York is UTC-5 until 2026-03-08 02:00 local (07:00 UTC), UTC-4 after.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest

from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.interactions.models import Interaction
from tests.interactions.helpers import add_interaction

HX = {"HX-Request": "true"}
VLADIVOSTOK = "Asia/Vladivostok"
NEW_YORK = "America/New_York"


def key(i: Interaction) -> str:
    return f"interaction-{i.id}"


class _Places(HTMLParser):
    """For each calendar item (data-item-key), the day or hour slot it sits in."""

    VOID = {"input", "br", "img", "meta", "link", "hr", "source", "wbr", "area", "col"}

    def __init__(self):
        super().__init__()
        self.stack: list[dict] = []
        self.places: dict[str, list[str]] = {}
        self.attrs: dict[str, dict] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-item-key" in a:
            where = next(
                (
                    s.get("data-slot") or s.get("data-day")
                    for s in reversed(self.stack)
                    if "data-slot" in s or "data-day" in s
                ),
                None,
            )
            self.places.setdefault(a["data-item-key"], []).append(where)
            self.attrs.setdefault(a["data-item-key"], a)
        if tag not in self.VOID:
            self.stack.append(a)

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()


def places(response) -> dict[str, list[str]]:
    """{item key: [data-day or data-slot of each place it is shown]}."""
    parser = _Places()
    parser.feed(response.get_data(as_text=True))
    return parser.places


def item_attrs(response) -> dict[str, dict]:
    parser = _Places()
    parser.feed(response.get_data(as_text=True))
    return parser.attrs


def show(client, headers=None, **params):
    response = client.get("/interactions/calendar", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


def body(response) -> str:
    """The page as text, entities decoded (messages quote values as 'this')."""
    return html.unescape(response.get_data(as_text=True))


# --- zones, days, hours -----------------------------------------------------------------------


@pytest.fixture
def two_zones(app, make_user, login_as):
    """A manager in Vladivostok responsible for a meeting at 2026-03-01 23:30 UTC (30 min), a
    manager in New York taking part in it."""
    vlad = make_user("manager", timezone=VLADIVOSTOK)
    ny = make_user("manager", timezone=NEW_YORK)
    meeting = add_interaction(vlad, datetime(2026, 3, 1, 23, 30), 30, participants=[ny])
    return vlad, ny, meeting


def test_month_puts_an_item_on_each_users_local_day(client, login_as, two_zones):
    vlad, ny, meeting = two_zones
    login_as(vlad)  # 23:30 UTC + 10 h = 2 March 09:30
    assert places(show(client, view="month", date="2026-03-10"))[key(meeting)] == ["2026-03-02"]
    login_as(ny)  # 23:30 UTC - 5 h = 1 March 18:30
    assert places(show(client, view="month", date="2026-03-10"))[key(meeting)] == ["2026-03-01"]


def test_day_and_week_views_put_the_item_in_the_local_hour(client, login_as, two_zones):
    vlad, ny, meeting = two_zones
    login_as(vlad)
    assert places(show(client, view="day", date="2026-03-02"))[key(meeting)] == ["2026-03-02T09:00"]
    assert key(meeting) not in places(show(client, view="day", date="2026-03-01"))
    # Week of Monday 2 March.
    assert places(show(client, view="week", date="2026-03-04"))[key(meeting)] == [
        "2026-03-02T09:00"
    ]
    login_as(ny)
    assert places(show(client, view="day", date="2026-03-01"))[key(meeting)] == ["2026-03-01T18:00"]
    assert key(meeting) not in places(show(client, view="day", date="2026-03-02"))
    # 1 March is a Sunday: the week of Monday 23 February.
    assert places(show(client, view="week", date="2026-03-01"))[key(meeting)] == [
        "2026-03-01T18:00"
    ]
    assert key(meeting) not in places(show(client, view="week", date="2026-03-02"))


def test_month_grid_runs_monday_to_sunday_around_the_month(client, login_as, make_user):
    user = login_as("manager", timezone=VLADIVOSTOK)
    # 1 March 2026 is a Sunday, 31 March a Tuesday: the grid is 23 Feb … 5 April.
    before = add_interaction(user, datetime(2026, 2, 22, 2, 0))  # 22 Feb 12:00 local: outside
    first = add_interaction(user, datetime(2026, 2, 23, 2, 0))  # 23 Feb 12:00 local
    last = add_interaction(user, datetime(2026, 4, 5, 2, 0))  # 5 Apr 12:00 local
    after = add_interaction(user, datetime(2026, 4, 5, 14, 0))  # 6 Apr 00:00 local: outside
    response = show(client, view="month", date="2026-03-15")
    days = [d for d in _days_of(body(response))]
    assert days[0] == "2026-02-23" and days[-1] == "2026-04-05" and len(days) == 42
    found = places(response)
    assert found[key(first)] == ["2026-02-23"] and found[key(last)] == ["2026-04-05"]
    assert key(before) not in found and key(after) not in found
    assert "March 2026" in body(response)


def _days_of(page: str) -> list[str]:
    return re.findall(r'class="cal-day[^"]*"\s+data-day="([\d-]+)"', page)


def test_local_midnight_is_the_day_boundary(client, login_as):
    user = login_as("manager", timezone=VLADIVOSTOK)
    # Local midnight 3 March = 2 March 14:00 UTC.
    at_midnight = add_interaction(user, datetime(2026, 3, 2, 14, 0), 0)  # 3 Mar 00:00
    just_before = add_interaction(user, datetime(2026, 3, 2, 13, 59), 0)  # 2 Mar 23:59
    ends_at_midnight = add_interaction(user, datetime(2026, 3, 2, 13, 30), 30)  # 23:30–00:00
    across = add_interaction(user, datetime(2026, 3, 2, 13, 30), 60)  # 23:30–00:30

    day2 = places(show(client, view="day", date="2026-03-02"))
    # All three start after 22:00: the "later" row of 2 March.
    assert day2 == {
        key(just_before): ["2026-03-02"],
        key(ends_at_midnight): ["2026-03-02"],
        key(across): ["2026-03-02"],
    }
    day3 = places(show(client, view="day", date="2026-03-03"))
    # The one at midnight in the "earlier" row; the one from the day before continues.
    assert day3 == {key(at_midnight): ["2026-03-03"], key(across): ["2026-03-03"]}
    month = places(show(client, view="month", date="2026-03-02"))
    assert month[key(at_midnight)] == ["2026-03-03"]
    assert month[key(just_before)] == ["2026-03-02"]
    assert month[key(ends_at_midnight)] == ["2026-03-02"]
    assert month[key(across)] == ["2026-03-02", "2026-03-03"]


def test_dst_week_in_new_york(client, login_as):
    user = login_as("manager", timezone=NEW_YORK)
    # The week Mon 2 – Sun 8 March: from 2 Mar 00:00 EST (05:00 UTC) to 9 Mar 00:00 EDT (04:00 UTC).
    sunday_before = add_interaction(user, datetime(2026, 3, 2, 4, 59), 0)  # 1 Mar 23:59 EST
    monday_start = add_interaction(user, datetime(2026, 3, 2, 5, 0), 0)  # 2 Mar 00:00 EST
    saturday = add_interaction(user, datetime(2026, 3, 7, 14, 0))  # 7 Mar 09:00 EST
    sunday_after_change = add_interaction(user, datetime(2026, 3, 8, 14, 0))  # 8 Mar 10:00 EDT
    sunday_late = add_interaction(user, datetime(2026, 3, 9, 3, 30), 0)  # 8 Mar 23:30 EDT
    next_monday = add_interaction(user, datetime(2026, 3, 9, 4, 30), 0)  # 9 Mar 00:30 EDT

    found = places(show(client, view="week", date="2026-03-08"))
    assert found == {
        key(monday_start): ["2026-03-02"],  # the "before 07:00" row of Monday
        key(saturday): ["2026-03-07T09:00"],
        key(sunday_after_change): ["2026-03-08T10:00"],
        key(sunday_late): ["2026-03-08"],  # the "from 22:00" row of Sunday
    }
    assert key(sunday_before) not in found and key(next_monday) not in found
    assert key(next_monday) in places(show(client, view="day", date="2026-03-09"))


def test_agenda_lists_thirty_local_days_grouped_by_day(client, login_as):
    user = login_as("manager", timezone=NEW_YORK)
    first = add_interaction(user, datetime(2026, 3, 1, 23, 30))  # 1 Mar 18:30 EST
    last = add_interaction(user, datetime(2026, 3, 31, 3, 0))  # 30 Mar 23:00 EDT: day 30
    beyond = add_interaction(user, datetime(2026, 3, 31, 4, 0))  # 31 Mar 00:00 EDT: day 31
    earlier = add_interaction(user, datetime(2026, 3, 1, 4, 59), 0)  # 28 Feb 23:59 EST
    response = show(client, view="agenda", date="2026-03-01")
    found = places(response)
    assert found == {key(first): ["2026-03-01"], key(last): ["2026-03-30"]}
    assert key(beyond) not in found and key(earlier) not in found
    page = body(response)
    assert "Sunday, 1 March 2026" in page and "Monday, 30 March 2026" in page
    assert "18:30–19:00" in page and "23:00–23:30" in page


def test_item_times_are_shown_in_the_users_zone(client, login_as, two_zones):
    vlad, ny, meeting = two_zones
    login_as(vlad)
    assert "09:30–10:00" in body(show(client, view="agenda", date="2026-03-01"))
    login_as(ny)
    assert "18:30–19:00" in body(show(client, view="agenda", date="2026-03-01"))


# --- whose calendar ---------------------------------------------------------------------------


@pytest.fixture
def team(app, make_user):
    anna = make_user("manager", name="Anna", timezone=VLADIVOSTOK)
    boris = make_user("manager", name="Boris", timezone=VLADIVOSTOK)
    own = add_interaction(anna, datetime(2026, 3, 10, 2, 0), title="Anna's own")
    joined = add_interaction(
        boris, datetime(2026, 3, 11, 2, 0), title="Boris with Anna", participants=[anna]
    )
    others = add_interaction(boris, datetime(2026, 3, 12, 2, 0), title="Boris alone")
    return {"anna": anna, "boris": boris, "own": own, "joined": joined, "others": others}


def test_manager_sees_his_own_and_those_he_takes_part_in(client, login_as, team):
    login_as(team["anna"])
    found = places(show(client, view="month", date="2026-03-10"))
    assert set(found) == {key(team["own"]), key(team["joined"])}


def test_manager_cannot_open_another_users_calendar(client, login_as, team):
    login_as(team["anna"])
    for other in (str(team["boris"].id), "all"):
        response = show(client, view="month", date="2026-03-10", user=other)
        assert set(places(response)) == {key(team["own"]), key(team["joined"])}
        assert "You can see only your own calendar" in body(response)
    assert 'id="calendar-owner"' not in body(response)


def test_admin_views_another_users_calendar_and_everyones(client, login_as, team):
    login_as("admin", timezone=VLADIVOSTOK)
    boris = places(show(client, view="month", date="2026-03-10", user=team["boris"].id))
    assert set(boris) == {key(team["joined"]), key(team["others"])}
    everyone = places(show(client, view="month", date="2026-03-10", user="all"))
    assert set(everyone) == {key(team["own"]), key(team["joined"]), key(team["others"])}
    mine = places(show(client, view="month", date="2026-03-10"))
    assert mine == {}


@pytest.mark.parametrize("role", ["marketer", "viewer"])
def test_readers_may_look_at_any_calendar(client, login_as, team, role):
    login_as(role, timezone=VLADIVOSTOK)
    found = places(show(client, view="month", date="2026-03-10", user="all"))
    assert set(found) == {key(team["own"]), key(team["joined"]), key(team["others"])}
    # They read; nothing offers to move an item.
    assert all(
        "data-reschedule-url" not in a
        for a in item_attrs(show(client, view="month", date="2026-03-10", user="all")).values()
    )


@pytest.mark.parametrize("role", ["viewer", "marketer"])
def test_a_reader_without_a_calendar_of_his_own_opens_everyones(client, login_as, team, role):
    """A viewer is never responsible for an item: his own calendar would be empty, so the
    calendar opens on everyone's; "Me" is still there to choose."""
    login_as(role, timezone=VLADIVOSTOK)
    response = show(client, view="month", date="2026-03-10")
    assert set(places(response)) == {key(team["own"]), key(team["joined"]), key(team["others"])}
    page = body(response)
    assert '<option value="" selected>Everyone</option>' in page
    assert re.search(r'<option value="me">Me \([^)]*\)</option>', page)
    assert 'id="calendar-summary">\n  Everyone · 3 items' in page
    # Links keep the default by leaving `user` out; his own calendar is `user=me`.
    assert "/interactions/calendar?view=week&amp;date=2026-03-10&quot;" not in page
    assert 'href="/interactions/calendar?view=week&date=2026-03-10"' in page
    assert places(show(client, view="month", date="2026-03-10", user="me")) == {}


def test_a_manager_and_an_admin_still_open_their_own(client, login_as, team):
    login_as(team["anna"])
    assert set(places(show(client, view="month", date="2026-03-10"))) == {
        key(team["own"]),
        key(team["joined"]),
    }
    login_as("admin", timezone=VLADIVOSTOK)
    response = show(client, view="month", date="2026-03-10")
    assert places(response) == {}  # an admin may own items: his calendar comes first
    assert '<option value="" selected>Me (' in body(response)
    assert '<option value="all">Everyone</option>' in body(response)


@pytest.mark.parametrize("value", ["999999", "abc", "-1", "1e3", "²", "9" * 40])
def test_unknown_user_falls_back_to_ones_own_calendar(client, login_as, team, value):
    login_as("admin", timezone=VLADIVOSTOK)
    response = show(client, view="month", date="2026-03-10", user=value)
    assert "There is no user" in body(response)
    assert places(response) == {}


# --- page, fragment, bad parameters ---------------------------------------------------------


def test_htmx_navigation_gets_the_calendar_body_only(client, login_as, two_zones):
    vlad, _ny, meeting = two_zones
    login_as(vlad)
    response = show(client, headers=HX, view="week", date="2026-03-02")
    page = body(response)
    assert "<html" not in page and 'id="calendar-period"' in page
    assert places(response)[key(meeting)] == ["2026-03-02T09:00"]
    assert "HX-Request" in response.headers.get("Vary", "")
    full = body(show(client, view="week", date="2026-03-02"))
    assert "<html" in full and 'id="calendar-body"' in full and 'id="calendar-feed"' in full


def test_navigation_links_keep_view_and_owner_and_push_the_url(client, login_as, team):
    login_as("admin", timezone=VLADIVOSTOK)
    page = body(show(client, view="week", date="2026-03-11", user=team["boris"].id))
    boris = team["boris"].id
    prev_url = f"/interactions/calendar?view=week&date=2026-03-04&user={boris}"
    next_url = f"/interactions/calendar?view=week&date=2026-03-18&user={boris}"
    assert f'href="{prev_url}" hx-get="{prev_url}"' in page
    assert f'href="{next_url}" hx-get="{next_url}"' in page
    assert 'hx-push-url="true"' in page
    assert "9 Mar 2026 – 15 Mar 2026" in page  # Monday to Sunday


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"view": "year"}, "There is no calendar view 'year'"),
        ({"date": "2026-13-45"}, "is not a date"),
        ({"date": "yesterday"}, "is not a date"),
        ({"date": "0001-01-01"}, "Choose a date between"),
        ({"date": "9999-12-31", "view": "month"}, "Choose a date between"),
        ({"view": "<script>", "date": "\x00"}, "There is no calendar view"),
    ],
)
def test_bad_view_or_date_says_so_and_shows_today(client, login_as, params, message):
    login_as("manager", timezone=VLADIVOSTOK)
    response = show(client, **params)
    page = body(response)
    assert message in page
    assert "<script>" not in response.get_data(as_text=True).split('id="calendar-messages"')[1]
    assert 'data-testid="calendar-month"' in page or "view" not in params


def test_paging_at_the_edge_of_the_calendar_does_not_fail(client, login_as):
    """The last and first dates the calendar pages to still draw their view (no overflow past
    year 9999 or before year 1 on the way to the next or previous period)."""
    login_as("manager", timezone=VLADIVOSTOK)
    for view in ("day", "week", "month", "agenda"):
        for day in ("2999-12-31", "1900-01-01"):
            page = show(client, view=view, date=day).get_data(as_text=True)
            assert f'data-view="{view}" data-date="{day}"' in page, (view, day)


def test_unprocessed_and_overdue_items_are_marked_in_words(client, login_as):
    user = login_as("manager", timezone=VLADIVOSTOK)
    now = utcnow().replace(second=0, microsecond=0)
    overdue = add_interaction(
        user,
        now - timedelta(days=1),
        30,
        title="Missed call",
        kind="call",
        direction="outgoing",
        contact_text="Someone",
    )
    follow_up = add_interaction(
        user,
        now - timedelta(days=1, hours=2),
        30,
        title="Waits reply",
        status="completed",
        follow_up_at=now - timedelta(hours=1),
    )
    future = add_interaction(user, now + timedelta(days=1), 30, title="Later")
    response = show(client, view="agenda", date=(now - timedelta(days=3)).date().isoformat())
    attrs = item_attrs(response)
    assert "cal-overdue" in attrs[key(overdue)]["class"]
    assert "cal-unprocessed" in attrs[key(follow_up)]["class"]
    assert "cal-overdue" not in attrs[key(follow_up)]["class"]
    assert "cal-overdue" not in attrs[key(future)]["class"]
    assert "cal-unprocessed" not in attrs[key(future)]["class"]
    page = body(response)
    assert ">Overdue</span>" in page and ">Unprocessed</span>" in page


# --- rescheduling -------------------------------------------------------------------------------


def fresh(i: Interaction) -> Interaction:
    db.session.expire_all()
    return db.session.get(Interaction, i.id)


def test_own_open_items_are_draggable_closed_and_others_are_not(client, login_as, team):
    anna = team["anna"]
    done = add_interaction(anna, datetime(2026, 3, 13, 2, 0), status="completed", title="Done")
    login_as(anna)
    attrs = item_attrs(show(client, view="month", date="2026-03-10"))
    own = attrs[key(team["own"])]
    assert own["draggable"] == "true"
    assert own["data-reschedule-url"] == f"/interactions/{team['own'].id}/reschedule"
    assert own["data-start"] == "2026-03-10T12:00"  # 02:00 UTC + 10 h
    assert "data-reschedule-url" not in attrs[key(team["joined"])]  # Boris's: Anna only joins
    assert "data-reschedule-url" not in attrs[key(done)]


def test_reschedule_moves_the_item_from_local_time(client, login_as, team):
    anna, own = team["anna"], team["own"]
    login_as(anna)
    response = client.post(
        f"/interactions/{own.id}/reschedule",
        headers=HX,
        data={
            "starts_at": "2026-03-05T10:15",
            "view": "week",
            "date": "2026-03-05",
            "user": "",
            "confirm": "1",  # March 2026 is in the past: the move was agreed to
        },
    )
    assert response.status_code == 200
    row = fresh(own)
    # 10:15 in Vladivostok = 00:15 UTC; the 30 minutes stay.
    assert row.starts_at == datetime(2026, 3, 5, 0, 15)
    assert row.ends_at == datetime(2026, 3, 5, 0, 45)
    page = body(response)
    assert "<html" not in page and "moved to 5 Mar 2026, 10:15" in page
    assert places(response)[key(own)] == ["2026-03-05T10:00"]


def test_the_move_to_field_moves_the_item_without_javascript(client, login_as, team):
    """The item's "Move" form posts the typed time as move_to (no starts_at button pressed)."""
    anna, own = team["anna"], team["own"]
    login_as(anna)
    response = client.post(
        f"/interactions/{own.id}/reschedule",
        data={
            "move_to": "2026-03-06T08:30",
            "view": "week",
            "date": "2026-03-05",
            "user": "",
            "confirm": "1",
        },
    )
    assert response.status_code == 302
    assert fresh(own).starts_at == datetime(2026, 3, 5, 22, 30)  # 08:30 on the 6th, UTC+10


def test_reschedule_across_the_dst_change(client, login_as):
    user = login_as("manager", timezone=NEW_YORK)
    i = add_interaction(user, datetime(2026, 3, 6, 15, 0), 60)  # Fri 6 Mar 10:00 EST
    response = client.post(
        f"/interactions/{i.id}/reschedule",
        data={"starts_at": "2026-03-09T10:00", "view": "month", "date": "2026-03-09", "confirm": 1},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        "/interactions/calendar?view=month&date=2026-03-09"
    )
    assert fresh(i).starts_at == datetime(2026, 3, 9, 14, 0)  # 10:00 EDT = 14:00 UTC


def test_admin_may_move_anyones_item(client, login_as, team):
    login_as("admin", timezone="UTC")
    others = team["others"]
    response = client.post(
        f"/interactions/{others.id}/reschedule",
        data={"starts_at": "2026-03-20T08:00", "confirm": "1"},
    )
    assert response.status_code == 302
    assert fresh(others).starts_at == datetime(2026, 3, 20, 8, 0)


def test_reschedule_refuses_someone_elses_item(client, login_as, team):
    login_as(team["anna"])
    for item in (team["others"], team["joined"]):  # hidden from her / she only takes part
        before = item.starts_at
        response = client.post(
            f"/interactions/{item.id}/reschedule", data={"starts_at": "2026-03-20T08:00"}
        )
        assert response.status_code == 403
        assert fresh(item).starts_at == before


def test_viewer_cannot_reschedule(client, login_as, team):
    login_as("viewer")
    response = client.post(
        f"/interactions/{team['own'].id}/reschedule", data={"starts_at": "2026-03-20T08:00"}
    )
    assert response.status_code == 403
    assert fresh(team["own"]).starts_at == datetime(2026, 3, 10, 2, 0)


def test_reschedule_of_a_missing_item_is_404(client, login_as):
    login_as("admin")
    assert (
        client.post(
            "/interactions/424242/reschedule", data={"starts_at": "2026-03-20T08:00"}
        ).status_code
        == 404
    )


# --- a move into the past asks first ----------------------------------------------------------


@pytest.mark.parametrize("field", ["starts_at", "move_to"])
def test_a_move_into_the_past_asks_first_and_changes_nothing(client, login_as, team, field):
    anna, own = team["anna"], team["own"]
    login_as(anna)
    response = client.post(
        f"/interactions/{own.id}/reschedule",
        headers=HX,
        data={field: "2026-03-05T10:15", "view": "week", "date": "2026-03-05", "version": "1"},
    )

    assert response.status_code == 200
    assert fresh(own).starts_at == datetime(2026, 3, 10, 2, 0)  # not moved
    assert fresh(own).version == 1
    page = body(response)
    assert "<html" not in page and "moved to" not in page
    # 10:15 on 5 March in Vladivostok, asked in the reader's English.
    assert "“Anna's own” would move to 5 Mar 2026, 10:15, which is in the past." in page
    question = page[page.index('id="calendar-confirm-past"') :]
    question = question[: question.index("</form>")]
    # The answer "yes" is the same move again, confirmed.
    for name, value in (
        ("starts_at", "2026-03-05T10:15"),
        ("confirm", "1"),
        ("version", "1"),
        ("view", "week"),
        ("date", "2026-03-05"),
    ):
        assert f'name="{name}" value="{value}"' in question
    assert f'action="/interactions/{own.id}/reschedule"' in question


def test_the_confirmed_move_into_the_past_is_made(client, login_as, team):
    anna, own = team["anna"], team["own"]
    login_as(anna)
    response = client.post(
        f"/interactions/{own.id}/reschedule",
        headers=HX,
        data={"starts_at": "2026-03-05T10:15", "confirm": "1", "version": "1", "view": "week"},
    )
    assert response.status_code == 200
    assert fresh(own).starts_at == datetime(2026, 3, 5, 0, 15)
    assert "moved to 5 Mar 2026, 10:15" in body(response)


def test_a_move_into_the_future_is_made_without_asking(client, login_as, team):
    anna, own = team["anna"], team["own"]
    login_as(anna)
    ahead = utcnow().replace(second=0, microsecond=0) + timedelta(days=30)
    local = ahead + timedelta(hours=10)  # Vladivostok
    response = client.post(
        f"/interactions/{own.id}/reschedule",
        data={"starts_at": local.strftime("%Y-%m-%dT%H:%M"), "view": "month"},
    )
    assert response.status_code == 302
    assert fresh(own).starts_at == ahead


def test_without_javascript_the_question_is_a_page_of_its_own(client, login_as, team):
    anna, own = team["anna"], team["own"]
    anna.locale = "ru"
    db.session.commit()
    login_as(anna)
    response = client.post(
        f"/interactions/{own.id}/reschedule",
        data={"starts_at": "2026-03-09T12:00", "view": "month", "date": "2026-03-10"},
    )
    assert response.status_code == 200
    page = body(response)
    assert "<html" in page
    assert "«Anna's own» переносится на 09.03.2026 12:00 — это в прошлом. Перенести?" in page
    assert "Да, перенести в прошлое" in page and "Нет, оставить как есть" in page
    assert fresh(own).starts_at == datetime(2026, 3, 10, 2, 0)


def test_calendar_tells_the_page_script_the_readers_time(client, login_as, team):
    """The page's script asks before a move into the past from the reader's wall clock."""
    login_as(team["anna"])
    page = body(show(client, view="week", date="2026-03-10"))
    now = utcnow() + timedelta(hours=10)
    found = re.search(r'class="cal-state"[^>]* data-now="([^"]+)"', page)
    shown = datetime.fromisoformat(found[1])
    assert abs(shown - now) < timedelta(minutes=2)
    assert 'data-past-question="This moves the item into the past. Move it there?"' in page
    assert page.count("data-past-check") == 1  # the one movable item's move form
    assert page.count('name="confirm" value=""') == 1


@pytest.mark.parametrize(
    "value",
    [
        "",
        "tomorrow",
        "2026-02-30T10:00",
        "2026-03-05T25:00",
        "0001-01-01T00:00",
        "9999-12-31T23:59",
        "2026-03-05T10:00\x00",
    ],
)
@pytest.mark.parametrize("headers", [HX, None])
def test_reschedule_rejects_garbage_and_changes_nothing(client, login_as, team, value, headers):
    login_as(team["anna"])
    own = team["own"]
    response = client.post(
        f"/interactions/{own.id}/reschedule",
        headers=headers,
        data={"starts_at": value, "view": "month", "date": "2026-03-10"},
    )
    assert response.status_code == 422
    page = body(response)
    assert "nothing was moved" in page
    assert ("<html" in page) == (headers is None)
    assert fresh(own).starts_at == datetime(2026, 3, 10, 2, 0)
    assert places(response)[key(own)] == ["2026-03-10"]


def test_move_buttons_post_the_local_times(client, login_as, team):
    login_as(team["anna"])
    page = body(show(client, view="agenda", date="2026-03-10"))
    start = page.index('data-item-key="' + key(team["own"]))
    row = page[start : page.index("</li>", start)]
    # 12:00 local on 10 March: one day back, one day on, one hour on.
    for value in ("2026-03-09T12:00", "2026-03-11T12:00", "2026-03-10T13:00"):
        assert f'name="starts_at" value="{value}"' in row
    assert 'type="datetime-local" name="move_to"' in row
    assert f'action="/interactions/{team["own"].id}/reschedule"' in row


# --- in a browser ---------------------------------------------------------------------------------


def _seed_calendar(tag: str) -> dict:
    from crm.auth.models import User
    from tests.conftest import DEFAULT_PASSWORD

    user = User(
        email=f"calendar-{tag}@example.test",
        role="manager",
        name=f"Cal {tag}",
        timezone=VLADIVOSTOK,
    )
    user.set_password(DEFAULT_PASSWORD)
    db.session.add(user)
    db.session.flush()
    # Tue 10 March 12:00 and Wed 11 March 09:30 in Vladivostok.
    talk = add_interaction(user, datetime(2026, 3, 10, 2, 0), 60, title="Contract talk")
    call = add_interaction(
        user,
        datetime(2026, 3, 10, 23, 30),
        15,
        title="Call back Ivan",
        kind="call",
        direction="outgoing",
        contact_text="Ivan",
    )
    add_interaction(user, datetime(2026, 3, 12, 6, 0), 30, title="Closed one", status="completed")
    return {"email": user.email, "talk": talk.id, "call": call.id}


def _starts_at(live_server, interaction_id: int) -> datetime:
    return live_server.seed(lambda: db.session.get(Interaction, interaction_id).starts_at)


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_drag_an_item_to_another_day_and_hour_on_a_laptop(live_server, browser_page, artifacts_dir):
    from playwright.sync_api import expect

    from tests.browser.fixtures import log_in
    from tests.conftest import DEFAULT_PASSWORD

    seeded = live_server.seed(_seed_calendar, "laptop")
    page = browser_page(1280, 800)
    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    page.goto("/interactions/calendar?view=month&date=2026-03-10")
    talk = f'[data-item-key="interaction-{seeded["talk"]}"]'
    expect(page.locator(f'[data-day="2026-03-10"] {talk}')).to_be_visible()
    page.screenshot(path=artifacts_dir / "calendar-month-1280x800.png", full_page=True)
    page.locator(f"{talk} summary").click()  # the details: a popover with the move buttons
    expect(page.locator(talk).get_by_role("button", name="+1 hour")).to_be_visible()
    page.screenshot(path=artifacts_dir / "calendar-month-1280x800-open.png", full_page=True)
    page.keyboard.press("Escape")
    expect(page.locator(talk).get_by_role("button", name="+1 hour")).to_be_hidden()

    # March 2026 is in the past: each drop asks first (here: yes).
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))

    # Month: a drop on another day keeps the time of day (12:00 local = 02:00 UTC).
    page.locator(talk).drag_to(page.locator('[data-day="2026-03-12"]'))
    expect(page.locator(f'[data-day="2026-03-12"] {talk}')).to_be_visible()
    expect(page.locator("#calendar-messages")).to_contain_text("moved to 12 Mar 2026, 12:00")
    assert asked == ["This moves the item into the past. Move it there?"]
    assert _starts_at(live_server, seeded["talk"]) == datetime(2026, 3, 12, 2, 0)

    # Week: a drop on an hour keeps the minutes (09:30 -> 15:30 on Friday 13 March).
    page.get_by_role("link", name="Week", exact=True).click()
    expect(page.locator('[data-testid="calendar-week"]')).to_be_visible()
    expect(page).to_have_url(re.compile(r"view=week&date=2026-03-10"))  # hx-push-url
    call = f'[data-item-key="interaction-{seeded["call"]}"]'
    expect(page.locator(f'[data-slot="2026-03-11T09:00"] {call}')).to_be_visible()
    page.screenshot(path=artifacts_dir / "calendar-week-1280x800.png", full_page=True)
    page.locator(call).drag_to(page.locator('[data-slot="2026-03-13T15:00"]'))
    expect(page.locator(f'[data-slot="2026-03-13T15:00"] {call}')).to_be_visible()
    assert _starts_at(live_server, seeded["call"]) == datetime(2026, 3, 13, 5, 30)
    assert len(asked) == 2
    assert page.js_errors == []


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_move_buttons_on_a_phone(live_server, browser_page, artifacts_dir):
    from playwright.sync_api import expect

    from tests.browser.fixtures import log_in
    from tests.conftest import DEFAULT_PASSWORD

    seeded = live_server.seed(_seed_calendar, "phone")
    page = browser_page(390, 844)
    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    page.goto("/interactions/calendar?view=month&date=2026-03-10")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.locator('[data-day="2026-03-01"]')).to_be_hidden()  # empty days are left out
    page.screenshot(path=artifacts_dir / "calendar-month-390x844.png", full_page=True)
    page.goto("/interactions/calendar?view=week&date=2026-03-10")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts_dir / "calendar-week-390x844.png", full_page=True)

    talk = page.locator(f'[data-item-key="interaction-{seeded["talk"]}"]')
    summary = talk.locator("summary")
    assert summary.bounding_box()["height"] >= 44
    summary.click()
    plus_day = talk.get_by_role("button", name="+1 day")
    assert plus_day.bounding_box()["height"] >= 44
    page.screenshot(path=artifacts_dir / "calendar-week-390x844-open.png", full_page=True)
    # A move into the past (March 2026) asks first: "no" sends nothing, "yes" moves it.
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    plus_day.click()
    assert asked == ["This moves the item into the past. Move it there?"]
    expect(page.locator("#calendar-messages")).not_to_contain_text("moved to")
    assert _starts_at(live_server, seeded["talk"]) == datetime(2026, 3, 10, 2, 0)
    plus_day.click()
    expect(page.locator("#calendar-messages")).to_contain_text("moved to 11 Mar 2026, 12:00")
    assert len(asked) == 2
    assert _starts_at(live_server, seeded["talk"]) == datetime(2026, 3, 11, 2, 0)

    # The feed link: made through htmx (CSRF header), shown once, readable without a session.
    page.locator("#calendar-subscribe summary").click()
    page.get_by_role("button", name="Create link").click()
    link = page.locator("#calendar-feed-url")
    expect(link).to_be_visible()
    page.screenshot(path=artifacts_dir / "calendar-feed-390x844.png", full_page=True)
    response = page.context.request.get(link.input_value())
    assert response.status == 200 and b"BEGIN:VCALENDAR" in response.body()
    assert page.js_errors == []


# --- a busy day in the month view ----------------------------------------------------------------


def test_a_month_cell_shows_four_items_and_counts_the_rest(client, login_as):
    """Six meetings on Tuesday 10 March (Vladivostok): the month cell shows the first four in
    time order and "+2 more", a link to that day, where all six are."""
    user = login_as("manager", timezone=VLADIVOSTOK)
    # 09:00, 10:00 … 14:00 local = 23:00 UTC on the 9th, then 00:00 … 04:00 UTC on the 10th.
    meetings = [
        add_interaction(user, datetime(2026, 3, 9, 23, 0) + timedelta(hours=n), 30)
        for n in range(6)
    ]
    add_interaction(user, datetime(2026, 3, 11, 1, 0), 30, title="Alone on the 11th")

    month = show(client, view="month", date="2026-03-10")
    found = places(month)
    assert [found.get(key(m)) for m in meetings] == [["2026-03-10"]] * 4 + [None, None]
    page = body(month)
    assert page.count("+2 more") == 1
    assert "view=day&amp;date=2026-03-10" in month.get_data(as_text=True)
    assert "7 items" in page  # the heading counts the hidden ones too

    day = places(show(client, view="day", date="2026-03-10"))
    assert all(key(m) in day for m in meetings)


def test_participants_calendar_follows_a_rescheduled_meeting(client, login_as, make_user):
    """A colleague taking part sees the meeting where it moved (his calendar reads the
    participants' copy of the start)."""
    owner = make_user("manager", timezone=VLADIVOSTOK)
    colleague = login_as("manager", timezone=VLADIVOSTOK)
    meeting = add_interaction(owner, datetime(2026, 3, 10, 2, 0), 60, participants=[colleague])
    from crm.interactions.services import reschedule

    reschedule(owner, meeting, datetime(2026, 3, 12, 5, 0))  # 15:00 on the 12th, local
    db.session.commit()
    found = places(show(client, view="week", date="2026-03-10"))
    assert found[key(meeting)] == ["2026-03-12T15:00"]


def test_a_week_column_and_an_agenda_day_list_thirty_items_then_more(client, login_as):
    """Thirty-two calls on Wednesday 11 March (Vladivostok, every quarter hour from 08:00):
    the week and the agenda list the first thirty and "+2 more"; the day view lists all."""
    user = login_as("manager", timezone=VLADIVOSTOK)
    first = datetime(2026, 3, 10, 22, 0)  # 08:00 on the 11th, local
    calls = [add_interaction(user, first + timedelta(minutes=15 * n), 10) for n in range(32)]
    for view in ("week", "agenda"):
        response = show(client, view=view, date="2026-03-11")
        found = places(response)
        assert [key(c) in found for c in calls] == [True] * 30 + [False] * 2, view
        assert body(response).count("+2 more") == 1, view
    day = places(show(client, view="day", date="2026-03-11"))
    assert all(key(c) in day for c in calls)
