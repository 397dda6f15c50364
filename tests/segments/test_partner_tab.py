"""The partner card's Segments tab (crm/segments/partner_tab.py): the segments a partner is in —
stored members of periodic and manual segments with the date he came in, dynamic segments by
their rule evaluated for him, a broken rule set aside — and adding him to or removing him from
the manual segments the user may edit. Expected rows are listed by hand from the fixture."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select, update

from crm.extensions import db
from crm.segments.models import SegmentMember
from crm.segments.partner_tab import dynamic_memberships
from crm.segments.services import add_members, create_segment

HX = {"HX-Request": "true"}
MOSCOW = {"type": "partner.city", "cities": ["Москва"]}
KAZAN = {"type": "partner.city", "cities": ["Казань"]}


@pytest.fixture
def card(app, make_user, make_partner):
    """Anna's P-1 in Москва, Boris's P-2 in Казань; the segments:

    «Москва» dynamic (P-1 meets it)       «Казань» dynamic (P-1 does not)
    «Сломанный» dynamic naming a segment deleted since
    «Москва ежедневно» periodic (P-1 entered on 2026-03-02)
    «Обзвон Анны» manual, Anna's, holding P-1     «Пустой» manual, Anna's, empty
    «Обзвон Бориса» manual, Boris's, holding P-2"""
    anna = make_user("manager", name="Анна")
    boris = make_user("manager", name="Борис")
    p1 = make_partner("Альфа", code="P-1", city="Москва", responsible=anna)
    p2 = make_partner("Бета", code="P-2", city="Казань", responsible=boris)
    gone = create_segment(None, "Удалённый", "manual")
    db.session.flush()
    ids = {
        "moscow": create_segment(anna, "Москва", "dynamic", MOSCOW).id,
        "kazan": create_segment(anna, "Казань", "dynamic", KAZAN).id,
        "broken": create_segment(
            anna, "Сломанный", "dynamic", {"type": "segment.member", "segments": [gone.id]}
        ).id,
        "daily": create_segment(anna, "Москва ежедневно", "periodic", MOSCOW, schedule="daily").id,
        "anna_calls": create_segment(anna, "Обзвон Анны", "manual").id,
        "empty": create_segment(anna, "Пустой", "manual").id,
        "boris_calls": create_segment(boris, "Обзвон Бориса", "manual").id,
    }
    db.session.delete(gone)
    db.session.flush()
    from crm.segments.models import Segment

    add_members(anna, db.session.get(Segment, ids["anna_calls"]), [p1.id])
    add_members(boris, db.session.get(Segment, ids["boris_calls"]), [p2.id])
    db.session.execute(
        update(SegmentMember)
        .where(SegmentMember.segment_id == ids["daily"])
        .values(added_at=datetime(2026, 3, 2, 9, 0))
    )
    db.session.commit()
    return {"anna": anna, "boris": boris, "p1": p1.id, "p2": p2.id, **ids}


def tab(client, partner_id: int) -> str:
    response = client.get(f"/partners/{partner_id}?tab=segments", headers=HX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body
    return body


def rows(body: str) -> list[tuple[str, str]]:
    """(segment name, kind) of each row."""
    found = re.findall(
        r'<tr id="partner-segment-\d+">\s*<td[^>]*><a href="/segments/\d+">([^<]+)</a></td>\s*'
        r"<td[^>]*>([^<]+)</td>",
        body,
    )
    return [(name, kind.strip()) for name, kind in found]


def offered(body: str) -> list[str]:
    """The manual segments the add list offers."""
    return re.findall(r'formaction="/segments/\d+/members/add">([^<]+)</button>', body)


def removable(body: str) -> list[int]:
    return [int(i) for i in re.findall(r'action="/segments/(\d+)/members/remove"', body)]


def test_the_tab_lists_stored_and_dynamic_memberships_and_sets_broken_rules_aside(
    client, login_as, card
):
    login_as(card["anna"])

    body = tab(client, card["p1"])

    assert rows(body) == [
        ("Москва", "Dynamic"),
        ("Москва ежедневно", "Periodic"),
        ("Обзвон Анны", "Manual"),
    ]
    assert "In 3 segments" in body
    assert "2 Mar 2026" in body  # the day P-1 entered the periodic segment
    assert 'id="partner-segments-broken"' in body and "Сломанный" in body


def test_an_editor_adds_to_his_manual_segments_and_removes_from_them(client, login_as, card):
    login_as(card["anna"])

    body = tab(client, card["p1"])

    assert offered(body) == ["Пустой"]  # not the one he is in, not Boris's
    assert removable(body) == [card["anna_calls"]]


def test_an_admin_may_fill_every_manual_segment(client, login_as, card):
    login_as("admin")

    body = tab(client, card["p1"])

    assert offered(body) == ["Обзвон Бориса", "Пустой"]
    assert removable(body) == [card["anna_calls"]]


def test_a_viewer_sees_the_segments_but_no_actions(client, login_as, card):
    login_as("viewer")

    body = tab(client, card["p2"])

    assert rows(body) == [("Казань", "Dynamic"), ("Обзвон Бориса", "Manual")]
    assert offered(body) == [] and removable(body) == []


def test_a_partner_in_no_segment(client, login_as, make_partner, card):
    login_as("admin")
    lone = make_partner("Гамма", code="P-3", city="Тула")

    body = tab(client, lone.id)

    assert rows(body) == [] and 'id="partner-segments-empty"' in body


def test_adding_and_removing_go_back_to_the_tab(client, login_as, card):
    login_as(card["anna"])
    back = f"/partners/{card['p1']}?tab=segments"
    form = {"partner_id": str(card["p1"]), "next": back}

    added = client.post(f"/segments/{card['empty']}/members/add", data=form)
    assert added.status_code == 302 and added.headers["Location"] == back
    assert ("Пустой", "Manual") in rows(tab(client, card["p1"]))

    removed = client.post(f"/segments/{card['empty']}/members/remove", data=form)
    assert removed.status_code == 302 and removed.headers["Location"] == back
    assert ("Пустой", "Manual") not in rows(tab(client, card["p1"]))


def test_another_site_as_next_goes_to_the_segment_instead(client, login_as, card):
    login_as(card["anna"])

    response = client.post(
        f"/segments/{card['empty']}/members/add",
        data={"partner_id": str(card["p1"]), "next": "//evil.example/x"},
    )

    assert response.headers["Location"] == f"/segments/{card['empty']}"


def test_one_may_not_add_to_anothers_segment_nor_a_partner_he_cannot_see(client, login_as, card):
    login_as(card["anna"])

    to_boris = client.post(
        f"/segments/{card['boris_calls']}/members/add", data={"partner_id": str(card["p1"])}
    )
    borises_partner = client.post(
        f"/segments/{card['empty']}/members/add", data={"partner_id": str(card["p2"])}
    )

    assert to_boris.status_code == 403
    assert borises_partner.status_code == 302
    stored = db.session.execute(
        select(SegmentMember.partner_id).where(SegmentMember.segment_id == card["empty"])
    ).all()
    assert stored == []


def test_the_tab_in_russian(client, login_as, card):
    card["anna"].locale = "ru"
    db.session.commit()
    login_as(card["anna"])

    body = tab(client, card["p1"])

    assert rows(body) == [
        ("Москва", "Динамический"),
        ("Москва ежедневно", "Периодический"),
        ("Обзвон Анны", "Ручной"),
    ]
    assert "02.03.2026" in body and "Добавить в сегмент" in body and "В 3 сегментах" in body


def test_dynamic_checks_stop_at_the_limit_and_say_how_many_were_left(card):
    # By name: Казань, Москва | Сломанный (past the limit of 2).
    found = dynamic_memberships(card["p1"], limit=2)

    assert [s.name for s in found.found] == ["Москва"]
    assert (found.broken, found.unchecked) == ([], 1)
    everything = dynamic_memberships(card["p1"])
    assert [s.name for s in everything.broken] == ["Сломанный"]
