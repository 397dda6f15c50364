"""My day's deal blocks: deals closing this week (and the overdue ones, marked) and stale
deals (days in the stage over twice the median of the stage's open deals), for one manager's
day or the team's. Dates and medians are worked out by hand from the fixtures."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from crm.core.timeutil import to_zone, utcnow
from crm.dashboard.widgets import widgets

HX = {"HX-Request": "true"}


def fragment(client, key: str, **params) -> str:
    response = client.get(f"/dashboard/widgets/{key}", query_string=params, headers=HX)
    assert response.status_code == 200, response.status_code
    body = response.get_data(as_text=True)
    assert "<html" not in body
    return body


def rows(body: str, prefix: str) -> list[int]:
    return [int(n) for n in re.findall(rf'<li class="[^"]*" id="{prefix}-(\d+)"', body)]


def test_deal_widgets_are_registered(app):
    assert {"deals-closing", "deals-stale"} <= {w.key for w in widgets()}


# --- closing this week -----------------------------------------------------------------------


@pytest.fixture
def closing(make_user, make_partner, make_deal_kind, make_deal):
    ivan = make_user("manager", name="Иван", locale="en")
    petr = make_user("manager", name="Пётр", locale="en")
    viewer = make_user("viewer", name="Вера", locale="en")
    partner = make_partner(name="ООО Ромашка", responsible=ivan)
    kind = make_deal_kind()
    # The users' zone is Moscow: their "today".
    today = to_zone(utcnow(), "Europe/Moscow").date()

    def deal(no, manager, days, **kw):
        return make_deal(
            partner,
            kind,
            manager,
            deal_no=no,
            title=f"Deal {no}",
            expected_close=today + timedelta(days=days),
            **kw,
        )

    d = {
        "overdue": deal("C1", ivan, -5),
        "today": deal("C2", ivan, 0),
        "week_end": deal("C3", ivan, 7),
        "later": deal("C4", ivan, 8),
        "won": deal("C5", ivan, 1, status="won"),
        "petrs": deal("C6", petr, 2),
        "shared": deal("C7", petr, 3, participants=[ivan]),
        "petrs_overdue": deal("C8", petr, -1),
    }
    return {"ivan": ivan, "petr": petr, "viewer": viewer, **d}


def test_closing_this_week_lists_his_open_deals_by_date_overdue_marked(client, login_as, closing):
    c = closing
    login_as(c["ivan"])
    body = fragment(client, "deals-closing")
    # From the overdue one to the 7th day ahead; not the 8th, not won, not Pëtr's (even shared).
    assert rows(body, "day-deal") == [c["overdue"].id, c["today"].id, c["week_end"].id]
    marked = [int(n) for n in re.findall(r'class="[^"]*deal-overdue" id="day-deal-(\d+)"', body)]
    assert marked == [c["overdue"].id]
    assert f'href="/deals/{c["today"].id}"' in body
    link = html.unescape(re.search(r'<a class="small" href="([^"]+)">All open deals', body)[1])
    week_end = c["week_end"].expected_close.isoformat()
    assert link == f"/deals/?status=open&manager={c['ivan'].id}&expected_to={week_end}"


def test_closing_this_week_of_the_team_and_of_a_chosen_manager(client, login_as, closing):
    c = closing
    login_as(c["viewer"])
    team = fragment(client, "deals-closing", user="team")
    assert rows(team, "day-deal") == [
        c["overdue"].id,
        c["petrs_overdue"].id,
        c["today"].id,
        c["petrs"].id,
        c["shared"].id,
        c["week_end"].id,
    ]
    assert "Пётр" in team  # the team's day names the manager
    petrs = fragment(client, "deals-closing", user=c["petr"].id)
    assert rows(petrs, "day-deal") == [c["petrs_overdue"].id, c["petrs"].id, c["shared"].id]


def test_closing_this_week_empty(client, login_as, make_user):
    login_as(make_user("manager", locale="en"))
    body = fragment(client, "deals-closing")
    assert rows(body, "day-deal") == [] and "No deals to close this week." in body


# --- stale deals ------------------------------------------------------------------------------


@pytest.fixture
def stale(make_user, make_partner, make_deal_kind, make_deal):
    """Stage A's open deals have been there 1, 3, 3, 3, 6, 7 and 13 days: median 3, so over 6
    days is stale (7 and 13 are; 6 is not). Stage B has one deal of 30 days (median 30). A kind
    without stages: 1, 1 and 50 days, median 1 (50 is stale). A won deal of 100 days at A does
    not count."""
    ivan = make_user("manager", name="Иван", locale="en")
    petr = make_user("manager", name="Пётр", locale="en")
    viewer = make_user("viewer", name="Вера", locale="en")
    partner = make_partner(name="ООО Ромашка", responsible=ivan)
    kind = make_deal_kind(stages=("A", "B"))
    bare = make_deal_kind(stages=(), process=False)
    now = utcnow()
    far = to_zone(now, "Europe/Moscow").date() + timedelta(days=100)

    def deal(no, manager, of_kind, stage, days, **kw):
        # An hour more than whole days: the count of whole days holds while the test runs.
        entered = now - timedelta(days=days, hours=1)
        return make_deal(
            partner,
            of_kind,
            manager,
            stage=stage,
            deal_no=no,
            title=f"Deal {no}",
            expected_close=far,
            stage_entered_at=entered,
            **kw,
        )

    d = {
        "a1": deal("S1", ivan, kind, "A", 1),
        "a3": deal("S2", ivan, kind, "A", 3),
        "a3b": deal("S3", petr, kind, "A", 3),
        "a3c": deal("S4", ivan, kind, "A", 3),
        "a6": deal("S5", petr, kind, "A", 6),
        "a7": deal("S6", ivan, kind, "A", 7),
        "a13": deal("S7", petr, kind, "A", 13),
        "b30": deal("S8", ivan, kind, "B", 30),
        "n1": deal("S9", ivan, bare, None, 1),
        "n1b": deal("S10", petr, bare, None, 1),
        "n50": deal("S11", ivan, bare, None, 50),
    }
    deal("S12", ivan, kind, "A", 100, status="won")
    return {"ivan": ivan, "petr": petr, "viewer": viewer, **d}


def test_stale_deals_of_a_manager_longest_in_stage_first(client, login_as, stale):
    s = stale
    login_as(s["ivan"])
    body = fragment(client, "deals-stale")
    assert rows(body, "day-stale") == [s["n50"].id, s["a7"].id]
    days = re.findall(r'class="[^"]*day-stale-days"[^>]*>([^<]+)<', body)
    assert [html.unescape(t).strip() for t in days] == ["50 days", "7 days · A"]
    assert f'href="/deals/{s["a7"].id}"' in body
    link = html.unescape(re.search(r'<a class="small" href="([^"]+)">All stale deals', body)[1])
    assert link == f"/deals/?status=open&manager={s['ivan'].id}&stale=1"


def test_stale_deals_of_the_team(client, login_as, stale):
    s = stale
    login_as(s["viewer"])
    assert rows(fragment(client, "deals-stale", user="team"), "day-stale") == [
        s["n50"].id,
        s["a13"].id,
        s["a7"].id,
    ]
    assert rows(fragment(client, "deals-stale", user=s["petr"].id), "day-stale") == [s["a13"].id]


def test_no_stale_deals(client, login_as, make_user):
    login_as(make_user("manager", locale="en"))
    body = fragment(client, "deals-stale")
    assert rows(body, "day-stale") == [] and "No stale deals." in body


def test_a_manager_cannot_open_anothers_deal_blocks(client, login_as, stale):
    login_as(stale["ivan"])
    response = client.get(
        "/dashboard/widgets/deals-stale", query_string={"user": stale["petr"].id}, headers=HX
    )
    assert response.status_code == 403


def test_the_stale_factor_setting_moves_the_line(app, client, login_as, stale, monkeypatch):
    s = stale
    # 1.5 × the median: stage A over 4.5 days (6, 7 and 13), the kind without stages over 1.5.
    monkeypatch.setitem(app.config, "DEAL_STALE_FACTOR", 1.5)
    login_as(s["viewer"])
    assert rows(fragment(client, "deals-stale", user="team"), "day-stale") == [
        s["n50"].id,
        s["a13"].id,
        s["a7"].id,
        s["a6"].id,
    ]
