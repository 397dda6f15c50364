"""The interactions list: filters, grouping, the unprocessed view and pages, as a full page and
as the HTMX fragment; and the quick actions on its rows."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import pytest

from crm.core.timeutil import utcnow
from crm.interactions.models import Interaction
from tests.interactions.helpers import listed, titles, titles_in
from tests.partners.helpers import HX, fresh, text

_HEADING = re.compile(r'<div class="[^"]*group-heading">\s*(.*?)\s*</div>', re.S)


def headings(response) -> list[str]:
    return [html.unescape(h) for h in _HEADING.findall(text(response))]


def problems(response) -> list[str]:
    found = re.findall(r'<div class="alert alert-warning py-2">(.*?)</div>', text(response))
    return [html.unescape(p) for p in found]


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute)


@pytest.fixture
def catalogue(app, login_as, make_user, make_partner, make_interaction):
    """An admin (Moscow, UTC+3) signed in; two managers; three partners; seven interactions
    (1–7 below) in early March 2026. Anna takes part in Boris's meeting."""
    admin = login_as("admin", name="Админ")
    anna = make_user("manager", name="Анна")
    boris = make_user("manager", name="Борис")
    romashka = make_partner(name="Ромашка", responsible=anna)
    lyutik = make_partner(name="Лютик", responsible=boris)
    astra = make_partner(name="Астра", responsible=anna)
    rows = [
        (
            anna,
            "call",
            utc(2, 7),
            romashka,
            "Звонок в Ромашку",
            {"status": "completed", "outcome": "No answer"},
        ),
        (
            boris,
            "meeting",
            utc(5, 8),
            lyutik,
            "Встреча в Лютике",
            {"duration_minutes": 60, "participants": [anna]},
        ),
        (
            anna,
            "email",
            utc(3, 10),
            astra,
            "Письмо Астре",
            {"status": "completed", "subject_type": "deal", "subject_id": 7},
        ),
        (
            boris,
            "sms",
            utc(1, 12),
            lyutik,
            "СМС Лютику",
            {"status": "completed", "description": "Счёт выставлен"},
        ),
        (
            admin,
            "planned",
            utc(4, 9),
            None,
            "План: сверка",
            {"status": "cancelled", "subject_text": "Сверка долга"},
        ),
        (
            boris,
            "call",
            utc(6, 6),
            None,
            "Звонок без партнёра",
            {
                "status": "deferred",
                "contact_text": "Олег со склада",
                "subject_type": "deal",
                "subject_id": 8,
            },
        ),
        # 21:30 UTC on the 2nd is 00:30 on the 3rd in Moscow.
        (anna, "call", utc(2, 21, 30), romashka, "Перезвонить", {"status": "completed"}),
    ]
    for responsible, kind, start, partner, title, fields in rows:
        make_interaction(responsible, kind, start, partner, title=title, **fields)
    return {
        "admin": admin,
        "anna": anna,
        "boris": boris,
        "romashka": romashka,
        "lyutik": lyutik,
        "astra": astra,
    }


NEWEST_FIRST = [
    "Звонок без партнёра",
    "Встреча в Лютике",
    "План: сверка",
    "Письмо Астре",
    "Перезвонить",
    "Звонок в Ромашку",
    "СМС Лютику",
]


@pytest.mark.parametrize("fragment", [False, True], ids=["page", "fragment"])
def test_list_shows_everything_newest_first_to_an_admin(client, catalogue, fragment):
    assert listed(client, fragment=fragment) == NEWEST_FIRST


@pytest.mark.parametrize("fragment", [False, True], ids=["page", "fragment"])
def test_each_filter_narrows_the_list(client, catalogue, fragment):
    anna, boris, lyutik = catalogue["anna"], catalogue["boris"], catalogue["lyutik"]
    queries = {
        "kind=call": ["Звонок без партнёра", "Перезвонить", "Звонок в Ромашку"],
        "kind=sms": ["СМС Лютику"],
        "status=completed": ["Письмо Астре", "Перезвонить", "Звонок в Ромашку", "СМС Лютику"],
        "status=deferred": ["Звонок без партнёра"],
        "responsible=me": ["План: сверка"],
        f"responsible={boris.id}": ["Звонок без партнёра", "Встреча в Лютике", "СМС Лютику"],
        # Someone else's id: what he is responsible for (not what he only takes part in).
        f"responsible={anna.id}": ["Письмо Астре", "Перезвонить", "Звонок в Ромашку"],
        f"partner={lyutik.id}": ["Встреча в Лютике", "СМС Лютику"],
        "subject=deal:7": ["Письмо Астре"],
        "subject=deal:8": ["Звонок без партнёра"],
        "subject=text:долга": ["План: сверка"],
        "subject=text:СКЛАДА": ["Звонок без партнёра"],
        "q=олег склад": ["Звонок без партнёра"],  # every word, anywhere in the text
        "q=ромашк": ["Перезвонить", "Звонок в Ромашку"],  # the partner's name counts
        "q=счет": ["СМС Лютику"],  # "ё" and "е" are one letter for search
        "q=100%": [],  # a LIKE wildcard is literal
        "kind=call&status=completed&q=ромашк": ["Перезвонить", "Звонок в Ромашку"],
    }
    found = {query: listed(client, query, fragment) for query in queries}

    assert found == queries


def test_responsible_me_lists_own_and_joined_interactions_of_a_manager(client, catalogue, login_as):
    login_as(catalogue["anna"])

    assert listed(client, "responsible=me") == [
        "Встреча в Лютике",
        "Письмо Астре",
        "Перезвонить",
        "Звонок в Ромашку",
    ]
    assert listed(client, f"responsible={catalogue['anna'].id}", fragment=True) == [
        "Встреча в Лютике",
        "Письмо Астре",
        "Перезвонить",
        "Звонок в Ромашку",
    ]


GROUPS = {
    "partner": (
        ["Астра", "Лютик", "Ромашка", "No partner"],
        [
            "Письмо Астре",
            "Встреча в Лютике",
            "СМС Лютику",
            "Перезвонить",
            "Звонок в Ромашку",
            "Звонок без партнёра",
            "План: сверка",
        ],
    ),
    "responsible": (
        ["Админ", "Анна", "Борис"],
        [
            "План: сверка",
            "Письмо Астре",
            "Перезвонить",
            "Звонок в Ромашку",
            "Звонок без партнёра",
            "Встреча в Лютике",
            "СМС Лютику",
        ],
    ),
    # Days of Moscow time: "Перезвонить" (21:30 UTC on the 2nd) falls on the 3rd.
    "day": (
        [
            "Friday, 6 March 2026",
            "Thursday, 5 March 2026",
            "Wednesday, 4 March 2026",
            "Tuesday, 3 March 2026",
            "Monday, 2 March 2026",
            "Sunday, 1 March 2026",
        ],
        NEWEST_FIRST,
    ),
    "subject": (
        ["No subject", "Сверка долга", "deal #7", "deal #8"],
        [
            "Встреча в Лютике",
            "Перезвонить",
            "Звонок в Ромашку",
            "СМС Лютику",
            "План: сверка",
            "Письмо Астре",
            "Звонок без партнёра",
        ],
    ),
}


@pytest.mark.parametrize("group", list(GROUPS))
@pytest.mark.parametrize("fragment", [False, True], ids=["page", "fragment"])
def test_grouping_puts_headings_in_order_above_their_rows(client, catalogue, group, fragment):
    response = client.get(f"/interactions/?group={group}", headers=HX if fragment else None)

    assert ("<html" in text(response)) is not fragment
    assert (headings(response), titles(response)) == GROUPS[group]


def test_no_grouping_shows_no_headings(client, catalogue):
    assert headings(client.get("/interactions/")) == []


def test_grouping_keeps_the_filter(client, catalogue):
    response = client.get("/interactions/?group=partner&kind=call", headers=HX)

    assert headings(response) == ["Ромашка", "No partner"]
    assert titles(response) == ["Перезвонить", "Звонок в Ромашку", "Звонок без партнёра"]


def test_period_is_read_as_local_dates_of_the_user(client, login_as, make_interaction):
    user = login_as("manager", timezone="Asia/Vladivostok")  # UTC+10
    for title, moment in [
        ("23:59 on the 1st", utc(1, 13, 59)),
        ("00:00 on the 2nd", utc(1, 14)),
        ("23:59 on the 2nd", utc(2, 13, 59)),
        ("00:00 on the 3rd", utc(2, 14)),
    ]:
        make_interaction(user, "call", moment, title=title, contact_text="x")

    assert listed(client, "from=2026-03-02&to=2026-03-02") == [
        "23:59 on the 2nd",
        "00:00 on the 2nd",
    ]
    assert listed(client, "from=2026-03-02", fragment=True) == [
        "00:00 on the 3rd",
        "23:59 on the 2nd",
        "00:00 on the 2nd",
    ]
    assert listed(client, "to=2026-03-01") == ["23:59 on the 1st"]
    swapped = client.get("/interactions/?from=2026-03-03&to=2026-03-02")
    assert titles(swapped) == ["00:00 on the 3rd", "23:59 on the 2nd", "00:00 on the 2nd"]
    assert problems(swapped) == ["The period ends before it starts; the dates were swapped."]


@pytest.fixture
def backlog(app, login_as, make_interaction):
    """A manager's items relative to now: three need him, four do not."""
    me = login_as("manager")
    now = utcnow().replace(second=0, microsecond=0)
    day = timedelta(days=1)
    rows = [
        ("call", now - timedelta(hours=2), "Call that was due", {}),
        ("meeting", now + day, "Meeting tomorrow", {}),
        (
            "email",
            now - 3 * day,
            "Offer awaiting answer",
            {"status": "completed", "follow_up_at": now - day},
        ),
        (
            "email",
            now - 3 * day,
            "Offer, answer not due yet",
            {"status": "completed", "follow_up_at": now + day},
        ),
        ("call", now - 7 * day, "Done and dusted", {"status": "completed"}),
        ("meeting", now - day, "Cancelled meeting", {"status": "cancelled"}),
        ("call", now - 3 * day, "Deferred, then forgotten", {"status": "deferred"}),
    ]
    for kind, start, title, fields in rows:
        make_interaction(me, kind, start, title=title, contact_text="x", **fields)
    return me


@pytest.mark.parametrize("fragment", [False, True], ids=["page", "fragment"])
def test_unprocessed_lists_what_came_due_most_recent_first(client, backlog, fragment):
    response = client.get("/interactions/?unprocessed=1", headers=HX if fragment else None)

    # Due 2 hours, 1 day and 3 days ago: all within the week, the newest on top.
    assert titles(response) == [
        "Call that was due",
        "Offer awaiting answer",
        "Deferred, then forgotten",
    ]
    assert 'id="interaction-older"' not in text(response)  # nothing older to fold away
    page = text(response)
    assert page.count('<span class="badge text-bg-danger">Overdue</span>') == 2  # open, past
    assert page.count('<span class="badge text-bg-danger">Unprocessed</span>') == 1
    assert ("<html" in page) is not fragment


def test_unprocessed_combines_with_responsible_me(client, backlog, login_as, make_interaction):
    other = login_as("admin")
    make_interaction(
        other, "call", utcnow() - timedelta(hours=1), title="Admin's own due call", contact_text="x"
    )

    assert listed(client, "responsible=me&unprocessed=1") == ["Admin's own due call"]
    assert len(listed(client, "unprocessed=1")) == 4


BAD_QUERIES = {
    "kind=fax": "Unknown kind 'fax' ignored.",
    "status=lost": "Unknown status 'lost' ignored.",
    "responsible=boss": "Unknown responsible user ignored.",
    "partner=abc": "Unknown partner ignored.",
    "subject=deal:abc": "Unknown subject ignored.",
    "subject=:7": "Unknown subject ignored.",
    "from=2026-13-01": "The start date '2026-13-01' is not a date (YYYY-MM-DD); ignored.",
    "to=yesterday": "The end date 'yesterday' is not a date (YYYY-MM-DD); ignored.",
    "group=colour": "Unknown grouping 'colour' ignored.",
    "page=-1": "Unknown page number; showing the first page.",
    "q=%07%1b": "The search text had control characters; they were removed.",
    "partner=99999999999999999999": "Unknown partner ignored.",  # beyond an integer column
    "responsible=99999999999999999999": "Unknown responsible user ignored.",
    "subject=deal:99999999999999999999": "Unknown subject ignored.",
}


@pytest.mark.parametrize("fragment", [False, True], ids=["page", "fragment"])
def test_bad_filter_values_give_a_message_and_are_ignored(client, catalogue, fragment):
    found = {}
    for query in BAD_QUERIES:
        response = client.get(f"/interactions/?{query}", headers=HX if fragment else None)
        found[query] = (response.status_code, problems(response), len(titles(response)))

    assert found == {query: (200, [message], 7) for query, message in BAD_QUERIES.items()}


def test_pages_keep_the_filter(app, client, catalogue):
    app.config["PAGE_SIZE"] = 2

    first = client.get("/interactions/?status=completed")
    second = client.get("/interactions/?status=completed&page=2", headers=HX)

    assert titles(first) == ["Письмо Астре", "Перезвонить"]
    assert "4 interactions found" in text(first)
    assert "Page 1 of 2" in text(first)
    assert 'href="/interactions/?status=completed&amp;page=2"' in text(first)
    assert titles(second) == ["Звонок в Ромашку", "СМС Лютику"]


# --- quick actions on a row -----------------------------------------------------------------


@pytest.fixture
def own_call(app, login_as, make_partner, make_interaction):
    """A manager (Moscow) signed in with a planned call of his own."""
    me = login_as("manager")
    partner = make_partner(name="Ромашка", responsible=me)
    return make_interaction(
        me, "call", utc(2, 7), partner, title="Позвонить Ивану", follow_up_at=utc(4, 7)
    )


def row(response, interaction_id: int) -> str:
    body = text(response)
    assert "<html" not in body
    assert body.lstrip().startswith('<div class="list-group-item interaction-row')
    assert f'id="interaction-{interaction_id}"' in body
    return body


def test_complete_from_the_list_swaps_the_row(client, own_call):
    response = client.post(
        f"/interactions/{own_call.id}/complete",
        headers=HX,
        data={"outcome": "Reached, agreed next step"},
    )

    assert response.status_code == 200
    body = row(response, own_call.id)
    assert (
        '<div class="alert alert-success py-1 px-2 mb-1 small" role="status">Completed.</div>'
        in body
    )
    assert ">Completed</span>" in body
    assert "Reached, agreed next step" in body
    assert ">Complete</button>" not in body  # done: no "Complete" button any more
    i = fresh(Interaction, own_call.id)
    assert (i.status, i.outcome) == ("completed", "Reached, agreed next step")


def test_defer_moves_the_start_to_the_date_typed_in_the_users_zone(client, own_call):
    response = client.post(
        f"/interactions/{own_call.id}/defer", headers=HX, data={"until": "2026-12-01T09:00"}
    )

    body = row(response, own_call.id)
    assert "Deferred to 1 Dec 2026, 09:00." in body
    assert "1 Dec 2026, 09:00" in body
    assert ">Deferred</span>" in body
    i = fresh(Interaction, own_call.id)
    assert (i.status, i.starts_at) == ("deferred", datetime(2026, 12, 1, 6, 0))


def test_defer_to_garbage_shows_the_error_on_the_row_and_changes_nothing(client, own_call):
    for until in ("", "someday"):
        response = client.post(
            f"/interactions/{own_call.id}/defer", headers=HX, data={"until": until}
        )

        assert response.status_code == 422
        assert (
            '<div class="alert alert-danger py-1 px-2 mb-1 small" role="alert">'
            "Choose a date and time to defer to.</div>"
        ) in row(response, own_call.id)
    i = fresh(Interaction, own_call.id)
    assert (i.status, i.starts_at) == ("planned", utc(2, 7))


def test_processed_clears_the_follow_up(client, own_call):
    response = client.post(f"/interactions/{own_call.id}/processed", headers=HX)

    assert "Marked as processed." in row(response, own_call.id)
    i = fresh(Interaction, own_call.id)
    assert (i.follow_up_at, i.due_at, i.status) == (None, None, "completed")


def test_cancel_from_the_detail_page_goes_back_there(client, own_call):
    response = client.post(
        f"/interactions/{own_call.id}/cancel", data={"next": f"/interactions/{own_call.id}"}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/interactions/{own_call.id}"
    assert fresh(Interaction, own_call.id).status == "cancelled"
    assert "Cancelled." in text(client.get(f"/interactions/{own_call.id}"))


def test_quick_action_without_htmx_returns_to_the_list_it_came_from(client, own_call):
    response = client.post(
        f"/interactions/{own_call.id}/complete", data={"next": "/interactions/?kind=call"}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/interactions/?kind=call"
    assert "Completed." in text(client.get("/interactions/?kind=call"))


def test_quick_action_never_redirects_to_another_site(client, own_call):
    for target in ("//evil.example/x", "https://evil.example/x", "javascript:alert(1)"):
        response = client.post(f"/interactions/{own_call.id}/processed", data={"next": target})

        assert response.headers["Location"] == f"/interactions/{own_call.id}", target


def test_my_unprocessed_is_what_i_am_responsible_for(client, login_as, make_user):
    """An overdue meeting of a colleague that I only take part in is on my list ("me") but not
    on my unprocessed list: closing it is his job; my own overdue call is on both."""
    from tests.factories import create_interaction

    me = login_as("manager")
    colleague = make_user("manager")
    past = datetime(2026, 3, 2, 9, 0)
    theirs = create_interaction(
        colleague, "meeting", starts_at=past, participants=[me], title="Their overdue meeting"
    )
    mine = create_interaction(me, "call", starts_at=past, title="My overdue call")
    everything = client.get("/interactions/?responsible=me").get_data(as_text=True)
    assert theirs.title in everything and mine.title in everything
    waiting = client.get("/interactions/?responsible=me&unprocessed=1").get_data(as_text=True)
    assert mine.title in waiting and theirs.title not in waiting


# --- "My unprocessed": the last week first, older items folded ---------------------------------


def _week_start_utc(now: datetime) -> datetime:
    """Vladivostok (UTC+10 all year): the UTC instant of local midnight seven days before
    the local today — items due since are "recent"."""
    local_today = (now + timedelta(hours=10)).date()
    return datetime.combine(local_today - timedelta(days=7), datetime.min.time()) - timedelta(
        hours=10
    )


@pytest.fixture
def due_over_a_year(app, login_as, make_interaction):
    """Open items of a manager in Vladivostok that came due over a year, and one not due."""
    me = login_as("manager", locale="ru", timezone="Asia/Vladivostok")
    now = utcnow().replace(second=0, microsecond=0)
    week_start = _week_start_utc(now)
    day = timedelta(days=1)
    rows = [
        (now - timedelta(hours=1), "Due an hour ago"),
        (now - 3 * day, "Due three days ago"),
        (week_start, "Due in the week's first minute"),
        (week_start - timedelta(minutes=1), "A minute too old"),
        (now - 10 * day, "Ten days old"),
        (now - 30 * day, "A month old"),
        (now - 365 * day, "A year old"),
        (now + day, "Not due yet"),
    ]
    for starts_at, title in rows:
        make_interaction(me, "meeting", starts_at, title=title)
    return me


@pytest.mark.parametrize("fragment", [False, True], ids=["page", "fragment"])
def test_unprocessed_shows_the_last_week_first_and_folds_the_older(
    client, due_over_a_year, fragment
):
    response = client.get(
        "/interactions/?responsible=me&unprocessed=1", headers=HX if fragment else None
    )

    page = text(response)
    recent, older = page.split('id="interaction-older"')
    assert titles_in(recent) == [
        "Due an hour ago",
        "Due three days ago",
        "Due in the week's first minute",
    ]
    assert titles_in(older) == ["A minute too old", "Ten days old", "A month old", "A year old"]
    # The fold is closed and says how many it holds (in the reader's Russian).
    assert '<details class="card mb-3 older-group" id="interaction-older">' in page
    words = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
    assert "3 взаимодействия со сроком сегодня или за последние 7 дней" in words
    assert "Более старые: 4 взаимодействия со сроком раньше чем 7 дней назад" in words
    assert "Все более старые" not in words  # all four are in the fold already


def test_the_older_part_alone_lists_only_the_older_items(client, due_over_a_year):
    response = client.get("/interactions/?responsible=me&unprocessed=1&older=1")

    assert titles(response) == ["A minute too old", "Ten days old", "A month old", "A year old"]
    page = text(response)
    assert 'id="interaction-older"' not in page
    assert "Показать недавние" in page


def test_a_follow_up_due_now_is_on_top_of_a_year_of_old_items(client, login_as, make_interaction):
    """Sixty items a year old, then a call whose follow-up came due an hour ago: the call is
    the first row of page 1, the old ones wait in the fold (20 shown, a link to all 60)."""
    me = login_as("manager", timezone="Asia/Vladivostok")
    now = utcnow().replace(second=0, microsecond=0)
    for n in range(60):
        make_interaction(me, "meeting", now - timedelta(days=400 - n), title=f"Old {n}")
    make_interaction(
        me,
        "call",
        now - timedelta(days=2),
        title="Call back about the offer",
        status="completed",
        contact_text="x",
        follow_up_at=now - timedelta(hours=1),
    )

    response = client.get("/interactions/?responsible=me&unprocessed=1")

    recent, older = text(response).split('id="interaction-older"')
    assert titles_in(recent) == ["Call back about the offer"]
    assert titles_in(older) == [f"Old {n}" for n in range(59, 39, -1)]  # the newest 20
    assert "Older: 60 interactions came due more than 7 days ago" in html.unescape(older)
    assert "All older ones (60)…" in html.unescape(older)
    assert "page=2" not in recent  # one page of recent items: no pager
