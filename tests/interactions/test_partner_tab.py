"""The partner card's Interactions tab: the partner's history newest first, filtered by kind
and status, showing a manager only what he may see."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.interactions.helpers import titles
from tests.partners.helpers import HX, text


@pytest.fixture
def history(app, login_as, make_user, make_partner, make_interaction):
    """Anna (manager) signed in with her partner Ромашка and its history: three items of hers,
    one of Boris's she takes part in, one of Boris's alone; and another partner's call."""
    anna = login_as("manager", name="Анна")
    boris = make_user("manager", name="Борис")
    romashka = make_partner(name="Ромашка", responsible=anna)
    other = make_partner(name="Лютик", responsible=anna)
    add = make_interaction
    add(anna, "call", datetime(2026, 3, 2, 9), romashka, title="Первый звонок", status="completed")
    add(anna, "email", datetime(2026, 3, 3, 9), romashka, title="КП отправлено", status="completed")
    add(anna, "meeting", datetime(2026, 3, 10, 9), romashka, title="Встреча в офисе")
    add(
        boris,
        "call",
        datetime(2026, 3, 4, 9),
        romashka,
        title="Звонок Бориса с Анной",
        status="cancelled",
        participants=[anna],
    )
    add(boris, "call", datetime(2026, 3, 5, 9), romashka, title="Звонок Бориса")
    add(anna, "call", datetime(2026, 3, 6, 9), other, title="Звонок Лютику")
    return {"anna": anna, "romashka": romashka}


def tab(client, partner, query: str = "", fragment: bool = True):
    response = client.get(
        f"/partners/{partner.id}?tab=interactions{query}", headers=HX if fragment else None
    )
    assert response.status_code == 200
    assert ("<html" in text(response)) is not fragment
    return response


def test_tab_lists_the_partners_interactions_newest_first(client, history):
    expected = ["Встреча в офисе", "Звонок Бориса с Анной", "КП отправлено", "Первый звонок"]

    assert titles(tab(client, history["romashka"])) == expected
    assert titles(tab(client, history["romashka"], fragment=False)) == expected


def test_tab_filters_by_kind_and_status(client, history):
    romashka = history["romashka"]
    found = {
        query: titles(tab(client, romashka, query))
        for query in ("&kind=call", "&status=completed", "&kind=call&status=completed", "&kind=sms")
    }

    assert found == {
        "&kind=call": ["Звонок Бориса с Анной", "Первый звонок"],
        "&status=completed": ["КП отправлено", "Первый звонок"],
        "&kind=call&status=completed": ["Первый звонок"],
        "&kind=sms": [],
    }
    assert "No interactions match." in text(tab(client, romashka, "&kind=sms"))
    selected = text(tab(client, romashka, "&kind=call"))
    assert '<option value="call" selected>Phone call</option>' in selected


def test_tab_ignores_unknown_filter_values(client, history):
    response = tab(client, history["romashka"], "&kind=fax&status=%00")

    assert len(titles(response)) == 4


def test_admin_sees_every_interaction_on_the_tab(client, history, login_as):
    login_as("admin")

    assert titles(tab(client, history["romashka"])) == [
        "Встреча в офисе",
        "Звонок Бориса",
        "Звонок Бориса с Анной",
        "КП отправлено",
        "Первый звонок",
    ]


def test_tab_offers_logging_and_planning_to_managers_only(client, history, login_as):
    romashka = history["romashka"]
    links = (
        f'href="/interactions/log?partner_id={romashka.id}"',
        f'href="/interactions/new?kind=meeting&amp;partner_id={romashka.id}"',
    )

    manager_tab = text(tab(client, romashka))
    login_as("viewer")
    viewer_tab = text(tab(client, romashka))

    assert [link in manager_tab for link in links] == [True, True]
    assert [link in viewer_tab for link in links] == [False, False]
    assert len(titles(tab(client, romashka))) == 5  # a viewer reads all of them


def test_colleague_cannot_open_the_tab_of_a_partner_he_does_not_see(client, history, login_as):
    login_as("manager")

    response = client.get(f"/partners/{history['romashka'].id}?tab=interactions", headers=HX)

    assert response.status_code == 403
    assert "Первый звонок" not in text(response)


def test_manager_who_sees_all_partners_still_sees_only_his_interactions(
    app, client, history, login_as, make_interaction
):
    app.config["MANAGERS_SEE_ALL_PARTNERS"] = True
    carl = login_as("manager", name="Карл")
    make_interaction(carl, "call", datetime(2026, 3, 7, 9), history["romashka"], title="Мой")

    assert titles(tab(client, history["romashka"])) == ["Мой"]
