"""My day (crm/dashboard): a manager's overdue, today's, next 7 days' and follow-up items, the
unprocessed count and his partners' overdue debt, each block a fragment of its own; whose day
a user may see. Expected contents are worked out by hand from the fixture below."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm.core.timeutil import utcnow
from tests.conftest import DEFAULT_PASSWORD

HX = {"HX-Request": "true"}
MOSCOW = ZoneInfo("Europe/Moscow")


def utc_at(day: date, hour: int, minute: int = 0) -> datetime:
    """Naive UTC of a Moscow wall-clock time (the users' zone)."""
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=MOSCOW)
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


@pytest.fixture
def day(make_user, make_partner, make_interaction):
    me = make_user("manager", name="Иван Иванов")
    other = make_user("manager", name="Пётр Петров")
    now = utcnow()
    today = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(MOSCOW).date()
    p = make_partner(name="ООО Ромашка", responsible=me)
    mk = make_interaction
    items = {
        "overdue_old": mk(me, starts_at=utc_at(today - timedelta(days=3), 10), title="Old call"),
        "overdue_new": mk(me, starts_at=utc_at(today - timedelta(days=1), 10), title="Late call"),
        "done_yesterday": mk(
            me,
            starts_at=utc_at(today - timedelta(days=1), 11),
            title="Done call",
            status="completed",
            completed_at=now,
        ),
        "today_late": mk(
            me, kind="meeting", starts_at=utc_at(today, 15), title="Afternoon meeting", partner=p
        ),
        "today_early": mk(me, starts_at=utc_at(today, 9), title="Morning call"),
        "today_done": mk(
            me, starts_at=utc_at(today, 8), title="Early call", status="completed", completed_at=now
        ),
        "today_cancelled": mk(
            me, starts_at=utc_at(today, 12), title="Cancelled", status="cancelled"
        ),
        "guest_today": mk(
            other,
            kind="meeting",
            starts_at=utc_at(today, 13),
            title="Their meeting",
            participants=[me],
        ),
        "in_3_days": mk(me, starts_at=utc_at(today + timedelta(days=3), 10), title="Soon"),
        "in_7_days": mk(me, starts_at=utc_at(today + timedelta(days=7), 10), title="Week end"),
        "in_9_days": mk(me, starts_at=utc_at(today + timedelta(days=9), 10), title="Later"),
        "follow_up": mk(
            me,
            starts_at=utc_at(today - timedelta(days=5), 10),
            title="Needs a reply",
            status="completed",
            completed_at=now,
            follow_up_at=now - timedelta(hours=1),
        ),
        "not_mine": mk(
            other, starts_at=utc_at(today - timedelta(days=1), 9), title="Someone else's"
        ),
    }
    return {"me": me, "other": other, "items": items, "now": now, "today": today, "partner": p}


def titles(body: str) -> list[str]:
    return re.findall(r'<a href="/interactions/\d+"[^>]*>([^<]+)</a>', body)


def fragment(client, key: str, **params) -> str:
    response = client.get(f"/dashboard/widgets/{key}", query_string=params, headers=HX)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_a_manager_lands_on_his_day_with_every_block(client, day):
    signed_in = client.post(
        "/auth/login", data={"email": day["me"].email, "password": DEFAULT_PASSWORD}
    )
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert ">My day<" in body and "Log a call" in body and "Plan" in body
    for key in (
        "unprocessed",
        "overdue",
        "today",
        "follow-ups",
        "next-7-days",
        "overdue-receivables",
    ):
        assert f'hx-get="/dashboard/widgets/{key}"' in body


def test_blocks_list_the_right_items_in_order(client, login_as, day):
    login_as(day["me"])
    # Overdue: open items that started before today, most recent first (not done, not others').
    assert titles(fragment(client, "overdue")) == ["Late call", "Old call"]
    # Today in time order: done ones stay, cancelled ones go, a meeting he attends is there.
    assert titles(fragment(client, "today")) == [
        "Early call",
        "Morning call",
        "Their meeting",
        "Afternoon meeting",
    ]
    # The next 7 days from tomorrow: in 3 and in 7 days, not in 9.
    assert titles(fragment(client, "next-7-days")) == ["Soon", "Week end"]
    assert titles(fragment(client, "follow-ups")) == ["Needs a reply"]


def test_the_unprocessed_count_matches_the_list(client, login_as, day):
    login_as(day["me"])
    now, today = day["now"], day["today"]
    # Due: the two overdue calls, the follow-up, and today's open items whose time has come.
    expected = 3 + sum(utc_at(today, h) <= now for h in (9, 15))
    body = fragment(client, "unprocessed")
    count = re.search(r'id="day-unprocessed-count" href="([^"]+)">(\d+)<', body)
    assert int(count.group(2)) == expected
    listed = client.get(count.group(1).replace("&amp;", "&"), headers=HX).get_data(as_text=True)
    assert len(re.findall(r'class="list-group-item interaction-row', listed)) == expected


def test_his_partners_overdue_debt(client, login_as, day):
    from tests.factories import create_document as make_document

    login_as(day["me"])
    assert "No overdue debt." in fragment(client, "overdue-receivables")
    make_document(
        day["partner"],
        ["1250.50"],
        doc_no="R-1",
        date=day["today"] - timedelta(days=40),
        due_date=day["today"] - timedelta(days=10),
    )
    body = fragment(client, "overdue-receivables")
    assert 'id="day-overdue-total">₽1,250.50<' in body and "ООО Ромашка" in body
    assert "overdue by 1 partner" in body


def test_a_manager_sees_only_his_own_day(client, login_as, day):
    login_as(day["me"])
    assert client.get(f"/?user={day['other'].id}").status_code == 403
    assert client.get("/?user=team").status_code == 403
    assert client.get("/dashboard/widgets/today?user=team", headers=HX).status_code == 403
    assert client.get(f"/?user={day['me'].id}").status_code == 200


def test_admins_and_viewers_see_the_team_or_a_chosen_user(client, login_as, day):
    login_as("viewer")
    body = html.unescape(client.get("/").get_data(as_text=True))
    assert "The team's day" in body and "Log a call" not in body
    team = titles(fragment(client, "overdue", user="team"))
    assert team == ["Late call", "Someone else&#39;s", "Old call"] or team == [
        "Someone else&#39;s",
        "Late call",
        "Old call",
    ]
    assert titles(fragment(client, "overdue", user=day["other"].id)) == ["Someone else&#39;s"]
    body = client.get(f"/?user={day['me'].id}").get_data(as_text=True)
    assert "Day of Иван Иванов" in body
    assert client.get("/?user=999999").status_code == 404
    assert client.get("/?user=abc").status_code == 404
    assert client.get("/dashboard/widgets/no-such-block").status_code == 404


def test_my_day_in_russian(client, login_as, day):
    day["me"].locale = "ru"
    login_as(day["me"])
    body = client.get("/").get_data(as_text=True)
    assert ">Мой день<" in body and "Записать звонок" in body and "Запланировать" in body
    assert "Просроченные" in body and "Ближайшие 7 дней" in body
    overdue = fragment(client, "overdue")
    yesterday = day["today"] - timedelta(days=1)
    assert f"{yesterday:%d.%m.%Y}" in overdue
    unprocessed = fragment(client, "unprocessed")
    assert re.search(r"взаимодейств\w+ жд\w+ обработки", unprocessed)


def test_a_block_without_javascript_is_a_page(client, login_as, day):
    login_as(day["me"])
    page = client.get("/dashboard/widgets/today")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in body and "Morning call" in body


def test_only_todays_done_items_are_struck_through(client, login_as, day):
    login_as(day["me"])
    today = fragment(client, "today")
    done = day["items"]["today_done"].id
    assert re.search(rf'href="/interactions/{done}" class="text-decoration-line-through"', today)
    # A completed item whose follow-up came due still waits for something: not struck.
    follow = day["items"]["follow_up"].id
    assert f'href="/interactions/{follow}">' in fragment(client, "follow-ups")
