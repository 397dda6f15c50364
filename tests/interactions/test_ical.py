"""The private iCalendar feed (its link made, shown once, replaced, revoked) and the .ics
download of one interaction, read back with icalendar as a calendar program would."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.interactions import feeds
from crm.interactions.models import CalendarFeed
from tests.interactions.helpers import add_interaction
from tests.partners.helpers import HX

FEED_URL = re.compile(r'id="calendar-feed-url" readonly value="([^"]+)"')


def parse(response) -> Calendar:
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.get_data())


def events(response) -> dict[str, object]:
    return {str(e["UID"]): e for e in parse(response).walk("VEVENT")}


def feed_path(token: str) -> str:
    return f"/interactions/feed/{token}.ics"


def new_link(client) -> str:
    """Make a feed link through the calendar page; returns the URL it shows."""
    response = client.post("/interactions/calendar/feed")
    assert response.status_code == 200
    found = FEED_URL.search(response.get_data(as_text=True))
    assert found, "the new link is shown"
    return html.unescape(found.group(1))


# --- the feed's contents ----------------------------------------------------------------------


@pytest.fixture
def calendars(app, make_user):
    """Anna's items (responsible, taking part, inside and outside the feed's window) and
    Boris's own meeting, relative to now."""
    anna = make_user("manager", name="Anna", timezone="Asia/Vladivostok")
    boris = make_user("manager", name="Boris")
    now = utcnow().replace(second=0, microsecond=0)
    day = timedelta(days=1)
    items = {
        "own": add_interaction(anna, now + 3 * day, 45, title="Contract talk"),
        "joined": add_interaction(
            boris, now + 4 * day, 60, title="Boris with Anna", participants=[anna]
        ),
        "recent_past": add_interaction(
            anna, now - 25 * day, 30, title="Old call", status="completed"
        ),
        "far_ahead": add_interaction(anna, now + 300 * day, 30, title="Next year"),
        "cancelled": add_interaction(
            anna, now + 5 * day, 30, title="Called off", status="cancelled"
        ),
        "logged_call": add_interaction(
            anna,
            now - 1 * day,
            0,
            title="Quick call",
            kind="call",
            status="completed",
            direction="outgoing",
            contact_text="Ivan",
            address="+7 999 123-45-67",
        ),
        "too_old": add_interaction(anna, now - 35 * day, 30, title="Too old"),
        "too_far": add_interaction(anna, now + 400 * day, 30, title="Too far"),
        "borises": add_interaction(boris, now + 3 * day, 30, title="Boris alone"),
    }
    return anna, boris, items


def uid(i) -> str:
    return f"interaction-{i.id}@localhost"


def test_feed_holds_exactly_the_users_items_in_utc(client, login_as, calendars):
    anna, _boris, items = calendars
    login_as(anna)
    url = new_link(client)
    assert url.startswith("http://localhost/interactions/feed/") and url.endswith(".ics")
    client.post("/auth/logout")  # calendar programs have no session

    response = client.get(url.removeprefix("http://localhost"))
    assert response.status_code == 200
    found = events(response)
    expected = {"own", "joined", "recent_past", "far_ahead", "cancelled", "logged_call"}
    assert set(found) == {uid(items[name]) for name in expected}

    own, event = items["own"], found[uid(items["own"])]
    assert event["DTSTART"].dt == own.starts_at.replace(tzinfo=UTC)
    assert event["DTEND"].dt == (own.starts_at + timedelta(minutes=45)).replace(tzinfo=UTC)
    assert event["DTSTART"].to_ical().endswith(b"Z")
    assert str(event["SUMMARY"]) == "Contract talk"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["URL"]) == f"http://localhost/interactions/{own.id}"
    assert "DTSTAMP" in event
    assert str(found[uid(items["cancelled"])]["STATUS"]) == "CANCELLED"

    call = found[uid(items["logged_call"])]
    assert "DTEND" not in call  # a moment: DTEND may not equal DTSTART
    description = str(call["DESCRIPTION"])
    assert "Phone call (outgoing)" in description and "Contact: Ivan" in description
    assert "+7 999 123-45-67" in description

    cal = parse(response)
    assert str(cal["VERSION"]) == "2.0" and "PRODID" in cal
    assert str(cal["X-WR-CALNAME"]) == "CRM — Anna"


def test_feed_description_names_partner_and_contact(client, login_as, make_user, make_partner):
    user = login_as("manager")
    partner = make_partner(name="Romashka LLC", persons=[{"name": "Olga Petrova"}])
    person = partner.contact_persons[0]
    i = add_interaction(
        user,
        utcnow() + timedelta(days=2),
        30,
        title="Visit",
        partner=partner,
        contact_person_id=person.id,
        description="Bring the samples.",
    )
    token = feeds.create_feed(user)
    db.session.commit()
    event = events(client.get(feed_path(token)))[uid(i)]
    description = str(event["DESCRIPTION"])
    assert description.startswith("Meeting · Planned")
    assert "Partner: Romashka LLC" in description
    assert "Contact: Olga Petrova" in description
    assert description.endswith("Bring the samples.")
    assert "LOCATION" not in event


def test_feed_of_a_user_with_nothing_is_an_empty_calendar(client, make_user):
    user = make_user("viewer")
    token = feeds.create_feed(user)
    db.session.commit()
    cal = parse(client.get(feed_path(token)))
    assert cal.walk("VEVENT") == []


# --- the link ---------------------------------------------------------------------------------


def test_only_a_fingerprint_of_the_link_is_stored_and_it_is_shown_once(client, login_as):
    user = login_as("manager")
    page = client.get("/interactions/calendar").get_data(as_text=True)
    assert "You have no feed link." in page
    url = new_link(client)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    rows = db.session.execute(select(CalendarFeed)).scalars().all()
    assert [(r.user_id, r.token_hash) for r in rows] == [
        (user.id, hashlib.sha256(token.encode()).hexdigest())
    ]
    page = client.get("/interactions/calendar").get_data(as_text=True)
    assert token not in page and "You have a feed link" in page


def test_using_the_link_records_when(client, make_user):
    user = make_user("manager")
    token = feeds.create_feed(user)
    db.session.commit()
    assert client.get(feed_path(token)).status_code == 200
    db.session.expire_all()
    row = db.session.execute(select(CalendarFeed)).scalar_one()
    assert row.last_used_at is not None and utcnow() - row.last_used_at < timedelta(minutes=1)


def test_a_new_link_revokes_the_old_one(client, login_as):
    login_as("manager")
    old = new_link(client).removeprefix("http://localhost")
    new = new_link(client).removeprefix("http://localhost")
    assert old != new
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_revoked_link_answers_404(client, login_as):
    login_as("manager")
    path = new_link(client).removeprefix("http://localhost")
    response = client.post("/interactions/calendar/feed/revoke", headers=HX)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<html" not in page and "The feed link is revoked." in page
    assert client.get(path).status_code == 404
    assert "You have no feed link." in client.get("/interactions/calendar").get_data(as_text=True)


def test_revoke_without_htmx_goes_back_to_the_calendar(client, login_as):
    login_as("manager")
    new_link(client)
    response = client.post("/interactions/calendar/feed/revoke")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/interactions/calendar#calendar-feed")


def test_link_of_a_deactivated_user_answers_404(client, make_user):
    user = make_user("manager")
    token = feeds.create_feed(user)
    user.active = False
    db.session.commit()
    assert client.get(feed_path(token)).status_code == 404


@pytest.mark.parametrize(
    "token", ["unknown", "a" * 43, "x" * 5000, "%00", "..%2F..%2Fetc", "' OR 1=1 --"]
)
def test_unknown_links_answer_404(client, make_user, token):
    feeds.create_feed(make_user("manager"))
    db.session.commit()
    assert client.get(feed_path(token)).status_code == 404


def test_viewer_may_have_a_feed_link(client, login_as):
    login_as("viewer")
    path = new_link(client).removeprefix("http://localhost")
    assert client.get(path).status_code == 200


def test_link_is_made_fresh_for_htmx_and_never_cached(client, login_as):
    login_as("manager")
    response = client.post("/interactions/calendar/feed", headers=HX)
    page = response.get_data(as_text=True)
    assert "<html" not in page and FEED_URL.search(page)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Google Calendar" in page and "Outlook" in page and "Thunderbird" in page


# --- one interaction as .ics --------------------------------------------------------------------


def test_ics_download_of_one_interaction(client, login_as):
    user = login_as("manager", timezone="America/New_York")
    i = add_interaction(user, datetime(2026, 3, 8, 14, 0), 90, title="Budget")
    response = client.get(f"/interactions/{i.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f"attachment; filename=interaction-{i.id}.ics"
    found = events(response)
    assert list(found) == [uid(i)]
    event = found[uid(i)]
    assert event["DTSTART"].dt == datetime(2026, 3, 8, 14, 0, tzinfo=UTC)
    assert event["DTEND"].dt == datetime(2026, 3, 8, 15, 30, tzinfo=UTC)
    assert str(event["SUMMARY"]) == "Budget"
    assert "X-WR-CALNAME" not in parse(response)  # an event to add, not a calendar of its own


def test_ics_download_follows_who_may_see_it(client, login_as, make_user):
    anna, boris = make_user("manager"), make_user("manager")
    hidden = add_interaction(boris, datetime(2026, 3, 8, 14, 0))
    joined = add_interaction(boris, datetime(2026, 3, 9, 14, 0), participants=[anna])
    login_as(anna)
    assert client.get(f"/interactions/{hidden.id}.ics").status_code == 403
    assert client.get(f"/interactions/{joined.id}.ics").status_code == 200
    assert client.get("/interactions/987654.ics").status_code == 404


def test_calendar_items_link_their_ics(client, login_as):
    user = login_as("manager", timezone="UTC")
    i = add_interaction(user, datetime(2026, 3, 8, 14, 0))
    page = client.get("/interactions/calendar?view=agenda&date=2026-03-08").get_data(as_text=True)
    assert f'href="/interactions/{i.id}.ics"' in page


def test_unchanged_feed_answers_304_to_a_poll(client, make_user):
    user = make_user("manager")
    add_interaction(user, utcnow() + timedelta(days=1), 30)
    token = feeds.create_feed(user)
    db.session.commit()
    first = client.get(feed_path(token))
    again = client.get(feed_path(token), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_a_changed_feed_is_built_again(client, make_user):
    """The feed is kept between polls only while its items stand still: moving one, adding
    one, or taking part in a colleague's meeting gives a new ETag and the new contents."""
    from crm.interactions.services import reschedule, set_participants

    user = make_user("manager", timezone="UTC")
    colleague = make_user("manager")
    soon = utcnow().replace(second=0, microsecond=0) + timedelta(days=1)
    meeting = add_interaction(user, soon, 30, title="Kept")
    token = feeds.create_feed(user)
    db.session.commit()
    first = client.get(feed_path(token))
    assert client.get(feed_path(token)).get_data() == first.get_data()  # the kept copy

    reschedule(user, meeting, soon + timedelta(hours=2))
    db.session.commit()
    moved = client.get(feed_path(token), headers={"If-None-Match": first.headers["ETag"]})
    assert moved.status_code == 200 and moved.headers["ETag"] != first.headers["ETag"]
    [event] = events(moved).values()
    assert event.decoded("DTSTART") == (soon + timedelta(hours=2)).replace(tzinfo=UTC)

    theirs = add_interaction(colleague, soon + timedelta(days=1), 60, title="Theirs")
    db.session.commit()
    assert uid(theirs) not in events(client.get(feed_path(token)))
    set_participants(colleague, theirs, [{"user_id": user.id}])
    db.session.commit()
    joined = client.get(feed_path(token))
    assert set(events(joined)) == {uid(meeting), uid(theirs)}
