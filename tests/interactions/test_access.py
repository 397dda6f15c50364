"""Who sees and who changes which interaction: a manager sees those he is responsible for or
takes part in; admins, marketers and viewers read all; only an admin or the responsible
manager changes one."""

from __future__ import annotations

import pytest

from crm.interactions.models import Interaction
from tests.interactions.helpers import listed, titles
from tests.partners.helpers import HX, fresh, text


@pytest.fixture
def office(app, login_as, make_user, make_partner, make_interaction):
    """Anna (manager) signed in; Boris (manager); an interaction of Anna's, one of Boris's she
    takes part in, and one of Boris's she has nothing to do with."""
    anna = login_as("manager", name="Анна")
    boris = make_user("manager", name="Борис")
    romashka = make_partner(name="Ромашка", responsible=anna)
    lyutik = make_partner(name="Лютик", responsible=boris, persons=[{"name": "Ольга Лютикова"}])
    own = make_interaction(anna, "call", partner=romashka, title="Мой звонок", follow_up_at=None)
    joined = make_interaction(
        boris, "meeting", partner=lyutik, title="Общая встреча", participants=[anna]
    )
    hidden = make_interaction(boris, "call", partner=lyutik, title="Чужой звонок")
    return {
        "anna": anna,
        "boris": boris,
        "romashka": romashka,
        "lyutik": lyutik,
        "own": own,
        "joined": joined,
        "hidden": hidden,
    }


ALL = ["Чужой звонок", "Общая встреча", "Мой звонок"]  # the factory's default start: same time


def status_codes(client, office, urls: dict[str, str]) -> dict[str, int]:
    return {
        name: client.get(
            url.format(**{k: v.id for k, v in office.items() if isinstance(v, Interaction)})
        ).status_code
        for name, url in urls.items()
    }


def test_manager_lists_his_own_and_joined_interactions_only(client, office):
    assert listed(client) == ["Общая встреча", "Мой звонок"]
    assert listed(client, "q=звонок", fragment=True) == ["Мой звонок"]
    assert listed(client, f"responsible={office['boris'].id}") == ["Общая встреча"]


def test_manager_opens_what_he_sees_and_edits_only_his_own(client, office):
    codes = status_codes(
        client,
        office,
        {
            "own detail": "/interactions/{own}",
            "joined detail": "/interactions/{joined}",
            "hidden detail": "/interactions/{hidden}",
            "own edit": "/interactions/{own}/edit",
            "joined edit": "/interactions/{joined}/edit",
            "hidden edit": "/interactions/{hidden}/edit",
            "missing": "/interactions/999",
            "reply to hidden": "/interactions/new?parent_id={hidden}",
        },
    )

    assert codes == {
        "own detail": 200,
        "joined detail": 200,
        "hidden detail": 403,
        "own edit": 200,
        "joined edit": 403,
        "hidden edit": 403,
        "missing": 404,
        "reply to hidden": 200,
    }
    # Replying to an interaction he cannot see gives a blank form, not a peek at it.
    page = text(client.get(f"/interactions/new?parent_id={office['hidden'].id}&reply=1"))
    assert "Чужой звонок" not in page
    assert 'name="parent_id" type="hidden" value=""' in page


def test_joined_interaction_shows_no_edit_buttons_to_a_participant(client, office):
    page = text(client.get(f"/interactions/{office['joined'].id}"))

    assert "Общая встреча" in page
    assert f'href="/interactions/{office["joined"].id}/edit"' not in page
    assert ">Complete</button>" not in page
    assert ">Delete</button>" not in page


@pytest.mark.parametrize("action", ["complete", "defer", "processed", "cancel", "delete"])
@pytest.mark.parametrize("target", ["joined", "hidden"])
def test_quick_actions_on_a_colleagues_interaction_are_refused(client, office, action, target):
    i = office[target]

    response = client.post(
        f"/interactions/{i.id}/{action}",
        headers=HX,
        data={"until": "2026-12-01T09:00", "outcome": "x"},
    )

    assert response.status_code == 403
    after = fresh(Interaction, i.id)
    assert after is not None
    assert (after.status, after.starts_at, after.outcome) == ("planned", i.starts_at, "")


def test_editing_a_colleagues_interaction_is_refused(client, office):
    i = office["joined"]

    response = client.post(
        f"/interactions/{i.id}/edit",
        data={
            "kind": "meeting",
            "status": "cancelled",
            "title": "Взлом",
            "starts_at": "2026-03-02T12:00",
            "partner_id": str(office["lyutik"].id),
        },
    )

    assert response.status_code == 403
    assert (fresh(Interaction, i.id).title, fresh(Interaction, i.id).status) == (
        "Общая встреча",
        "planned",
    )


@pytest.mark.parametrize("role", ["viewer", "marketer"])
def test_viewers_and_marketers_read_everything_and_change_nothing(client, office, login_as, role):
    login_as(role)

    assert listed(client) == ALL
    codes = status_codes(
        client,
        office,
        {
            "detail": "/interactions/{hidden}",
            "edit": "/interactions/{hidden}/edit",
            "new": "/interactions/new",
        },
    )
    assert codes == {"detail": 200, "edit": 403, "new": 403}
    for action in ("complete", "processed", "cancel", "delete"):
        response = client.post(f"/interactions/{office['own'].id}/{action}", headers=HX)
        assert response.status_code == 403, action
    assert fresh(Interaction, office["own"].id).status == "planned"
    page = text(client.get("/interactions/"))
    assert ">Complete</button>" not in page
    assert "Log a call" not in page


def test_admin_sees_and_changes_everything(client, office, login_as):
    login_as("admin")

    assert listed(client) == ALL
    codes = status_codes(
        client, office, {"detail": "/interactions/{hidden}", "edit": "/interactions/{hidden}/edit"}
    )
    assert codes == {"detail": 200, "edit": 200}
    response = client.post(f"/interactions/{office['hidden'].id}/complete", headers=HX)
    assert response.status_code == 200
    assert fresh(Interaction, office["hidden"].id).status == "completed"


def test_responsible_manager_deletes_his_interaction(client, office):
    response = client.post(f"/interactions/{office['own'].id}/delete")

    assert response.status_code == 302
    assert response.headers["Location"] == "/interactions/"
    assert fresh(Interaction, office["own"].id) is None
    assert "The interaction is deleted." in text(client.get("/interactions/"))


def test_thread_leaves_out_what_the_manager_cannot_see(client, office, make_interaction):
    anna, boris = office["anna"], office["boris"]
    root = office["own"]
    answer = make_interaction(
        boris, "email", partner=office["lyutik"], parent=root, title="Ответ Бориса"
    )
    make_interaction(anna, "call", partner=office["romashka"], parent=answer, title="Мой ответ")

    page = text(client.get(f"/interactions/{root.id}"))

    assert "Мой ответ" in page
    assert "Ответ Бориса" not in page


def test_form_helpers_offer_only_partners_the_manager_sees(client, office):
    options = text(client.get("/interactions/partner-options?partner_q=лют"))
    contacts = text(client.get(f"/interactions/contact-options?partner_id={office['lyutik'].id}"))
    own = text(client.get("/interactions/partner-options?partner_q=ром"))

    assert "Лютик" not in options
    assert "Ольга Лютикова" not in contacts
    assert "Ромашка" in own


def test_partner_choices_are_not_limited_for_an_admin(client, office, login_as):
    login_as("admin")

    contacts = text(client.get(f"/interactions/contact-options?partner_id={office['lyutik'].id}"))

    assert "Ольга Лютикова" in contacts
    assert titles(client.get("/interactions/?q=звонок")) == ["Чужой звонок", "Мой звонок"]
