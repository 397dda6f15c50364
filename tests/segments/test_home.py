"""My day's "Segments: who entered and left" (crm/segments/home.py): the week's changes of the
periodic segments the day's user owns — totals, links to the refreshes, the first partners by
name among those the reader may see — and no block at all when there is nothing to tell.
Expected contents are worked out by hand from the fixture."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.partners.models import Partner
from crm.segments.models import Segment, SegmentRefresh
from crm.segments.services import create_segment, refresh

HX = {"HX-Request": "true"}
URL = "/dashboard/widgets/segment-changes"


def move(partner_id: int, city: str) -> None:
    from crm.partners.services import sync_search

    partner = db.session.get(Partner, partner_id)
    partner.city = city
    sync_search(partner)
    db.session.commit()


def city(name: str) -> dict:
    return {"type": "partner.city", "cities": [name]}


@pytest.fixture
def week(app, make_user, make_partner):
    """Anna owns «Москва» (periodic): created with Альфа (hers) and Бета (Boris's) in Москва;
    then Гамма (hers) moves to Москва and Альфа to Тула, and a second refresh records
    +Гамма −Альфа. So this week: 3 entered (Альфа, Бета, Гамма), 1 left (Альфа).
    Anna's «Старый» changed 10 days ago only; her «Тихий» was refreshed with no change; Boris
    owns «Казань» (+Дельта)."""
    anna = make_user("manager", name="Анна")
    boris = make_user("manager", name="Борис")
    alpha = make_partner("Альфа", code="P-1", city="Москва", responsible=anna)
    make_partner("Бета", code="P-2", city="Москва", responsible=boris)
    gamma = make_partner("Гамма", code="P-3", city="Тула", responsible=anna)
    make_partner("Дельта", code="P-4", city="Казань", responsible=boris)
    moscow = create_segment(anna, "Москва", "periodic", city("Москва"), schedule="daily")
    old = create_segment(anna, "Старый", "periodic", city("Казань"), schedule="daily")
    quiet = create_segment(anna, "Тихий", "periodic", city("Омск"), schedule="daily")
    kazan = create_segment(boris, "Казань", "periodic", city("Казань"), schedule="daily")
    db.session.execute(
        update(SegmentRefresh)
        .where(SegmentRefresh.segment_id.in_([moscow.id]))
        .values(at=utcnow() - timedelta(days=2))
    )
    db.session.execute(
        update(SegmentRefresh)
        .where(SegmentRefresh.segment_id == old.id)
        .values(at=utcnow() - timedelta(days=10))
    )
    db.session.commit()
    move(gamma.id, "Москва")
    move(alpha.id, "Тула")
    second = refresh(db.session.get(Segment, moscow.id))
    refresh(db.session.get(Segment, quiet.id))  # nothing changed
    db.session.commit()
    first = db.session.execute(
        db.select(SegmentRefresh.id).where(
            SegmentRefresh.segment_id == moscow.id, SegmentRefresh.id != second.id
        )
    ).scalar_one()
    return {
        "anna": anna,
        "boris": boris,
        "moscow": moscow.id,
        "kazan": kazan.id,
        "refreshes": [second.id, first],  # the latest first
    }


def block(client, **params) -> str:
    response = client.get(URL, query_string=params, headers=HX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def listed(body: str) -> list[tuple[str, str, str]]:
    """(segment, +entered, −left) of each segment in the block."""
    return re.findall(
        r'<a class="flex-grow-1 text-truncate" href="/segments/\d+">([^<]+)</a>\s*'
        r'<span class="text-nowrap"><span class="text-success[^"]*"[^>]*>(\+\d+)</span>\s*'
        r'<span class="text-danger[^"]*"[^>]*>(−\d+)</span>',
        body,
    )


def names(body: str, which: str) -> list[str]:
    part = re.search(rf'class="small day-segment-{which}-names">(.*?)</div>', body, re.S)
    return re.findall(r">([^<]+)</a>", part.group(1)) if part else []


def test_the_owner_sees_his_segments_totals_refreshes_and_the_partners_he_may_see(
    client, login_as, week
):
    login_as(week["anna"])

    body = block(client)

    assert listed(body) == [("Москва", "+3", "−1")]  # not «Старый», «Тихий», Boris's «Казань»
    assert names(body, "entered") == ["Гамма", "Альфа"]  # the latest refresh first; not Бета
    assert names(body, "left") == ["Альфа"]
    links = re.findall(r'href="/segments/(\d+)/refreshes/(\d+)"', body)
    assert links == [(str(week["moscow"]), str(r)) for r in week["refreshes"]]
    assert "2 refreshes:" in body


def test_another_owner_sees_his_own(client, login_as, week):
    login_as(week["boris"])

    body = block(client)

    assert listed(body) == [("Казань", "+1", "−0")]
    assert names(body, "entered") == ["Дельта"]


def test_an_admin_on_a_managers_day_sees_that_managers_segments_and_every_name(
    client, login_as, week
):
    login_as("admin")

    body = block(client, user=week["anna"].id)

    assert listed(body) == [("Москва", "+3", "−1")]
    assert names(body, "entered") == ["Гамма", "Альфа", "Бета"]


def test_nothing_to_tell_takes_the_block_off_the_page(client, login_as, week):
    login_as("marketer")

    response = client.get(URL, headers=HX)

    assert response.status_code == 200 and response.get_data() == b""
    assert response.headers["HX-Retarget"] == "#w-segment-changes"
    assert response.headers["HX-Reswap"] == "delete"
    page = client.get(URL)  # without JavaScript: the block's page says so
    assert page.status_code == 200 and "Nothing to show." in page.get_data(as_text=True)


def test_my_day_asks_for_the_block(client, login_as, week):
    login_as(week["anna"])

    page = client.get("/").get_data(as_text=True)

    assert f'hx-get="{URL}"' in page


def test_the_block_in_russian(client, login_as, week):
    week["anna"].locale = "ru"
    db.session.commit()
    login_as(week["anna"])

    body = block(client)

    assert "За последние 7 дней" in body and "2 пересчёта:" in body
    assert "Вошли" in body and "Вышли" in body
