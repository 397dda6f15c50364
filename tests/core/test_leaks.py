"""A manager learns nothing about another manager's partner from any page that takes an id or
a search from the request: filter labels, pickers, the duplicate warning, suggestions, forms
posted with someone else's ids, exports. The other partner's name, code, city, contact person
and interaction title are unique markers that must not appear in any answer."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from crm.extensions import db
from crm.interactions.subjects import SUBJECT_TYPES, SubjectType, register_subject_type
from tests.auth.helpers import new_browser
from tests.factories import create_document, create_interaction

MARKERS = ("Zebrafoo", "ZCODE-77", "Zebraville", "Zebraperson", "Zebratitle", "Zebradeal")


@pytest.fixture
def client(app):
    return new_browser(app)


@pytest.fixture
def deals(app, monkeypatch):
    """A subject type "deal": 8 is Boris's (its label a marker), hidden from other managers."""
    monkeypatch.setitem(app.extensions, SUBJECT_TYPES.name, SUBJECT_TYPES.of(app).copy())
    register_subject_type(
        app,
        SubjectType(
            key="deal",
            title="Deal",
            describe=lambda ids: {
                i: ("Zebradeal" if i == 8 else f"Open deal {i}", f"/deals/{i}") for i in ids
            },
            can_view=lambda user, object_id: user.role != "manager" or object_id != 8,
        ),
    )


@pytest.fixture
def world(make_user, make_partner, deals):
    """Anna (signed in later) with her partner and an interaction about Boris's deal 8; Boris
    with his partner, its contact person, a debt and an interaction."""
    anna = make_user("manager", name="Anna")
    boris = make_user("manager", name="Boris Responsible")
    mine = make_partner(name="Annas Client", code="A-1", city="Omsk", responsible=anna)
    theirs = make_partner(
        name="Zebrafoo Trading",
        code="ZCODE-77",
        city="Zebraville",
        responsible=boris,
        inn="7701234567",
        emails=["hidden@zebra.test"],
        phones=["+7 912 555-00-11"],
        persons=[{"name": "Zebraperson", "email": "person@zebra.test"}],
    )
    create_document(theirs, [100], date=date(2025, 1, 1))
    hidden = create_interaction(boris, partner=theirs, title="Zebratitle")
    create_interaction(anna, partner=mine, title="Mine", subject_type="deal", subject_id=8)
    db.session.commit()
    return {"anna": anna, "boris": boris, "mine": mine, "theirs": theirs, "hidden": hidden}


def _requests(w) -> dict[str, tuple]:
    p, i, mine = w["theirs"].id, w["hidden"].id, w["mine"].id
    return {
        "interactions filter label": ("GET", f"/interactions/?partner={p}", None),
        "interactions filter, grouped": ("GET", f"/interactions/?partner={p}&group=partner", None),
        "interactions list, subject label": ("GET", "/interactions/", None),
        "partner picker": ("GET", "/interactions/partner-options?partner_q=Zebrafoo", None),
        "contact-person picker": ("GET", f"/interactions/contact-options?partner_id={p}", None),
        "new interaction for his partner": ("GET", f"/interactions/new?partner_id={p}", None),
        "log form for his partner": ("GET", f"/interactions/log?partner_id={p}", None),
        "follow-up of his interaction": ("GET", f"/interactions/new?parent_id={i}", None),
        "posted follow-up of his interaction": (
            "POST",
            "/interactions/new",
            {"parent_id": str(i), "kind": "call"},
        ),
        "posted interaction with his partner": (
            "POST",
            "/interactions/new",
            {"partner_id": str(p), "kind": "call"},
        ),
        "partner list and city suggestions": ("GET", "/partners/", None),
        "merge form naming his partner": ("GET", f"/partners/{mine}/merge?other={p}", None),
        "code taken, new partner": ("POST", "/partners/new", {"name": "X", "code": "ZCODE-77"}),
        "code taken, inline edit": ("POST", f"/partners/{mine}/fields/code", {"value": "ZCODE-77"}),
        "contacts report": ("GET", "/partners/reports/contacts?format=csv", None),
        "persons report": ("GET", "/partners/reports/persons?format=csv", None),
        "receivables": ("GET", "/sales/receivables?as_of=2025-03-31&format=csv", None),
        "calendar of Boris": (
            "GET",
            f"/interactions/calendar?view=month&date=2026-03-01&user={w['boris'].id}",
            None,
        ),
        "his partner's card": ("GET", f"/partners/{p}", None),
        "his purchases chart": ("GET", f"/sales/partners/{p}/purchases-chart", None),
        "his interaction": ("GET", f"/interactions/{i}", None),
    }


def _body(client, method, url, data):
    response = client.open(url, method=method, data=data)
    return response.status_code, response.get_data(as_text=True)


def test_no_page_shows_another_managers_partner_to_a_manager(client, login_as, world):
    login_as(world["anna"])

    leaks = {}
    for case, (method, url, data) in _requests(world).items():
        status, body = _body(client, method, url, data)
        assert status < 500, (case, status)
        # The code a user typed comes back in his form and message ("is taken"), no more.
        typed = ("ZCODE-77",) if case.startswith("code taken") else ()
        found = [m for m in MARKERS if m in body and m not in typed]
        if found:
            leaks[case] = found

    assert leaks == {}


def test_the_filter_still_filters_and_says_which_partner_by_id(client, login_as, world):
    login_as(world["anna"])
    p = world["theirs"].id

    body = client.get(f"/interactions/?partner={p}").get_data(as_text=True)

    assert f'<option value="{p}" selected>Partner #{p}</option>' in body
    assert "Mine" not in body  # Anna's own interaction is not about that partner


@pytest.mark.parametrize(
    "query",
    [
        "name=Zebrafoo%20Trading",
        "email=HIDDEN@zebra.test",
        "phone=8%20912%20555-00-11",
        "inn=7701234567",
        "email=person@zebra.test",
    ],
)
def test_duplicate_warning_says_a_match_exists_and_who_is_responsible(
    client, login_as, world, query
):
    login_as(world["anna"])

    body = client.get(f"/partners/duplicates?{query}").get_data(as_text=True)

    assert "Possible duplicate:" in body
    assert "A partner you cannot open" in body and "Boris Responsible" in body
    assert [m for m in MARKERS if m in body] == []
    assert f"/partners/{world['theirs'].id}" not in body


def test_the_duplicate_refusal_of_the_form_hides_the_partner_too(client, login_as, world):
    login_as(world["anna"])

    response = client.post(
        "/partners/new", data={"name": "Other", "kind": "company", "email": "hidden@zebra.test"}
    )
    body = response.get_data(as_text=True)

    assert response.status_code == 409
    assert "A partner you cannot open" in body and "Boris Responsible" in body
    assert [m for m in MARKERS if m in body] == []
    assert 'name="confirm_duplicates"' in body


def test_a_visible_match_keeps_its_name_and_link(client, login_as, world):
    login_as(world["anna"])

    body = client.get("/partners/duplicates?name=Annas%20Client").get_data(as_text=True)

    assert f'<a href="/partners/{world["mine"].id}" target="_blank">Annas Client</a>' in body
    assert "A partner you cannot open" not in body


def test_admins_and_managers_who_see_all_get_the_whole_warning(app, client, login_as, world):
    app.config["MANAGERS_SEE_ALL_PARTNERS"] = True
    login_as(world["anna"])
    as_manager = client.get("/partners/duplicates?name=Zebrafoo%20Trading").get_data(as_text=True)
    cities = client.get("/partners/").get_data(as_text=True)
    app.config["MANAGERS_SEE_ALL_PARTNERS"] = False
    login_as("admin")
    as_admin = client.get("/partners/duplicates?name=Zebrafoo%20Trading").get_data(as_text=True)

    for body in (as_manager, as_admin):
        assert "Zebrafoo Trading" in body and "ZCODE-77" in body
    assert '<option value="Zebraville">' in cities


def test_a_subject_the_manager_may_not_see_is_named_by_number_only(client, login_as, world):
    login_as(world["anna"])

    body = client.get("/interactions/").get_data(as_text=True)

    assert "Deal #8" in body and "Zebradeal" not in body and "/deals/8" not in body


def test_posted_ids_of_his_interaction_do_not_show_its_title(client, login_as, world):
    login_as(world["anna"])
    i = world["hidden"]
    start = datetime(2026, 3, 2, 9, 0).strftime("%Y-%m-%dT%H:%M")

    response = client.post(
        "/interactions/new", data={"parent_id": str(i.id), "kind": "call", "starts_at": start}
    )

    assert response.status_code == 422
    assert "Zebratitle" not in response.get_data(as_text=True)
