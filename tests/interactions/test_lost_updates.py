"""Two people changing one interaction: the edit form and a calendar move chosen before
someone else's change are refused with what changed (409); quick actions change only what
they say. Expected values are the ones typed here."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from crm.extensions import db
from crm.interactions import services
from crm.interactions.models import Interaction
from tests.helpers import form_fields, hidden_version, page_text, signed_in_client

HX = {"HX-Request": "true"}


def fresh(interaction_id: int) -> Interaction:
    db.session.expire_all()
    return db.session.get(Interaction, interaction_id)


@pytest.fixture
def desk(app, make_user, make_interaction):
    """Anna (responsible, UTC) and Boris (admin, UTC) in two browsers, and Anna's meeting."""
    anna = make_user("manager", name="Anna Petrova", timezone="UTC")
    boris = make_user("admin", name="Boris Ivanov", timezone="UTC")
    meeting = make_interaction(
        anna,
        "meeting",
        title="Budget",
        description="",
        starts_at=datetime(2026, 3, 4, 9, 0),
        duration_minutes=30,
    )
    return {
        "anna": signed_in_client(app, anna),
        "boris": signed_in_client(app, boris),
        "anna_user": anna,
        "id": meeting.id,
    }


def test_edit_from_an_older_form_is_refused_and_keeps_the_input(desk):
    url = f"/interactions/{desk['id']}/edit"
    anna_form = form_fields(page_text(desk["anna"].get(url)), url)
    boris_form = form_fields(page_text(desk["boris"].get(url)), url)
    assert anna_form["version"] == boris_form["version"] == "1"
    saved = desk["anna"].post(url, data={**anna_form, "title": "Budget 2027"})
    assert saved.status_code == 302

    refused = desk["boris"].post(url, data={**boris_form, "description": "Bring the figures"})

    assert refused.status_code == 409
    page = page_text(refused)
    assert re.search(
        r"<strong>title</strong>: <span[^>]*>Budget</span> → "
        r"<span[^>]*>Budget 2027</span>",
        page,
    )
    assert "Anna Petrova" in page
    again = form_fields(page, url)
    assert again["description"] == "Bring the figures"
    assert again["version"] == "2"
    stored = fresh(desk["id"])
    assert (stored.title, stored.description) == ("Budget 2027", "")

    resaved = desk["boris"].post(url, data={**again, "title": "Budget 2027"})

    assert resaved.status_code == 302
    stored = fresh(desk["id"])
    assert (stored.title, stored.description) == ("Budget 2027", "Bring the figures")


def test_calendar_move_drawn_before_another_move_is_refused(desk):
    calendar = page_text(desk["anna"].get("/interactions/calendar?view=week&date=2026-03-04"))
    move_url = f'data-reschedule-url="/interactions/{desk["id"]}/reschedule"'
    drawn = re.search(re.escape(move_url) + r'[^>]*data-version="(\d+)"', calendar)
    assert drawn and drawn[1] == "1"
    assert hidden_version(calendar) == 1  # the move buttons' form carries it too
    move = {"view": "week", "date": "2026-03-04", "user": "", "confirm": "1"}  # in the past
    url = f"/interactions/{desk['id']}/reschedule"
    assert (
        desk["boris"]
        .post(url, headers=HX, data={**move, "starts_at": "2026-03-05T09:00", "version": "1"})
        .status_code
        == 200
    )

    refused = desk["anna"].post(
        url, headers=HX, data={**move, "starts_at": "2026-03-06T11:00", "version": "1"}
    )

    assert refused.status_code == 409
    page = page_text(refused)
    assert "<html" not in page and "Nothing was moved." in page
    assert re.search(
        r"<strong>starts at</strong>: <span[^>]*>2026-03-04T09:00:00</span> → "
        r"<span[^>]*>2026-03-05T09:00:00</span>",
        page,
    )
    assert "Boris Ivanov" in page
    assert fresh(desk["id"]).starts_at == datetime(2026, 3, 5, 9, 0)
    # The redrawn calendar carries the new version: moving it again is a deliberate choice.
    assert 'data-version="2"' in page
    again = desk["anna"].post(
        url, headers=HX, data={**move, "starts_at": "2026-03-06T11:00", "version": "2"}
    )
    assert again.status_code == 200
    assert fresh(desk["id"]).starts_at == datetime(2026, 3, 6, 11, 0)


def test_a_move_without_a_version_moves_as_before(desk):
    url = f"/interactions/{desk['id']}/reschedule"
    response = desk["anna"].post(
        url,
        data={
            "view": "week",
            "date": "2026-03-04",
            "user": "",
            "starts_at": "2026-03-05T10:00",
            "confirm": "1",
        },
    )
    assert response.status_code == 302
    assert fresh(desk["id"]).starts_at == datetime(2026, 3, 5, 10, 0)


@pytest.mark.parametrize("action", ["processed", "complete", "cancel"])
def test_quick_actions_change_only_their_own_fields(desk, action):
    """A one-click action applies its small change to the record as it is now: a description
    written after the list was drawn stays."""
    i = fresh(desk["id"])
    services.update_interaction(desk["anna_user"], i, {"description": "Agenda: prices"})
    db.session.commit()

    response = desk["anna"].post(f"/interactions/{desk['id']}/{action}", headers=HX)

    assert response.status_code == 200
    stored = fresh(desk["id"])
    assert stored.description == "Agenda: prices"
    assert (
        stored.status
        == {"processed": "completed", "complete": "completed", "cancel": "cancelled"}[action]
    )
    assert stored.version == 3
