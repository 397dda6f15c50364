"""The deal form: creating (with contact persons, participants, a starting stage of a free
kind, from an interaction chain), editing (the kind fixed, lost updates refused with what
changed), bad input refused with messages and nothing written, and who may do what."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.deals.models import Deal, DealRole
from crm.extensions import db
from crm.interactions.models import Interaction
from tests.deals.helpers import text
from tests.helpers import form_fields, page_text, signed_in_client


def deal_count() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(Deal)).scalar_one()


def fresh(deal_id: int) -> Deal:
    db.session.expire_all()
    return db.session.get(Deal, deal_id)


@pytest.fixture
def roles(app):
    lpr, user = DealRole(name="ЛПР"), DealRole(name="Пользователь")
    db.session.add_all([lpr, user])
    db.session.commit()
    return {"lpr": lpr, "user": user}


def new_deal(desk, **fields) -> dict:
    return {
        "partner_id": str(desk["romashka"].id),
        "kind_id": str(desk["supply"].id),
        "stage_id": "",
        "title": "Трубы на склад",
        "amount": "150 000,50",
        "expected_close": "2026-12-20",
        "source": "Выставка",
        "description": "Две партии",
        **fields,
    }


def test_manager_creates_a_deal_with_contacts_and_participants(client, desk, login_as, roles):
    login_as(desk["anna"])
    olga = desk["romashka"].contact_persons[0]
    form = client.get("/deals/new")
    assert form.status_code == 200
    assert "The kind cannot be changed once the deal is saved." in text(form)
    response = client.post(
        "/deals/new",
        data=new_deal(
            desk,
            **{
                "contacts-0-contact_person_id": str(olga.id),
                "contacts-0-role_id": str(roles["lpr"].id),
                "participants-0-user_id": str(desk["boris"].id),
                "participants-0-role_id": str(roles["user"].id),
                "manager_id": str(desk["boris"].id),  # not an admin: ignored
            },
        ),
    )
    assert response.status_code == 302
    deal = db.session.execute(select(Deal).where(Deal.title == "Трубы на склад")).scalar_one()
    assert response.headers["Location"].endswith(f"/deals/{deal.id}")
    assert (deal.amount, deal.expected_close, deal.source) == (
        Decimal("150000.50"),
        date(2026, 12, 20),
        "Выставка",
    )
    assert deal.manager_id == desk["anna"].id
    assert deal.stage.name == "Lead"
    assert [(c.contact_person.name, c.role.name) for c in deal.contacts] == [("Ольга", "ЛПР")]
    assert [(p.user.name, p.role.name) for p in deal.participants] == [
        ("Борис Иванов", "Пользователь")
    ]
    card = text(client.get(f"/deals/{deal.id}"))
    assert "Ольга" in card and "ЛПР" in card and "Борис Иванов" in card


def test_admin_chooses_the_manager_and_a_free_kind_starting_stage(client, desk, login_as):
    login_as(desk["admin"])
    quote = next(s for s in desk["service"].stages if s.name == "Quote")
    page = text(client.get("/deals/new"))
    assert f'<option value="{quote.id}">Quote</option>' in page
    response = client.post(
        "/deals/new",
        data=new_deal(
            desk,
            kind_id=str(desk["service"].id),
            stage_id=str(quote.id),
            manager_id=str(desk["boris"].id),
        ),
    )
    assert response.status_code == 302
    deal = db.session.execute(select(Deal).where(Deal.title == "Трубы на склад")).scalar_one()
    assert (deal.manager_id, deal.stage_id) == (desk["boris"].id, quote.id)


def test_partner_id_prefills_the_partner(client, desk, login_as):
    login_as(desk["anna"])
    page = text(client.get(f"/deals/new?partner_id={desk['romashka'].id}"))
    assert re.search(rf'<option selected value="{desk["romashka"].id}">Ромашка', page)
    assert "Ольга" in page  # its contact persons are offered


def test_deal_from_an_interaction_chain_links_every_interaction_of_it(
    client, desk, login_as, make_interaction
):
    anna = login_as(desk["anna"])
    first = make_interaction(anna, partner=desk["romashka"], title="Первый звонок")
    reply = make_interaction(anna, partner=desk["romashka"], parent=first, title="Ответ")
    later = make_interaction(anna, partner=desk["romashka"], parent=reply, title="Встреча")
    other = make_interaction(anna, partner=desk["romashka"], title="Другая цепочка")

    page = text(client.get(f"/deals/new?from_interaction={reply.id}"))
    assert "Every interaction of the chain" in page
    fields = form_fields(
        page_text(client.get(f"/deals/new?from_interaction={reply.id}")), "/deals/new"
    )
    assert fields["partner_id"] == str(desk["romashka"].id)
    assert fields["title"] == "Ответ"
    fields.update(kind_id=str(desk["supply"].id), expected_close="2026-12-01", amount="10")
    response = client.post(f"/deals/new?from_interaction={reply.id}", data=fields)
    assert response.status_code == 302, text(response)[:3000]
    deal = db.session.execute(select(Deal).where(Deal.title == "Ответ")).scalar_one()
    db.session.expire_all()
    subjects = {
        i.title: (i.subject_type, i.subject_id)
        for i in db.session.execute(select(Interaction)).scalars()
    }
    assert subjects == {
        "Первый звонок": ("deal", deal.id),
        "Ответ": ("deal", deal.id),
        "Встреча": ("deal", deal.id),
        "Другая цепочка": ("", None),
    }
    card = text(client.get(f"/deals/{deal.id}"))
    assert card.count("/interactions/") >= 3 and "Другая цепочка" not in card
    assert later.id and other.id


def test_from_an_interaction_the_user_may_not_see_or_that_does_not_exist(
    client, desk, login_as, make_interaction
):
    hidden = make_interaction(desk["boris"], partner=desk["lyutik"], title="Чужой")
    login_as(desk["anna"])
    assert client.get(f"/deals/new?from_interaction={hidden.id}").status_code == 403
    assert (
        client.post(f"/deals/new?from_interaction={hidden.id}", data=new_deal(desk)).status_code
        == 403
    )
    assert client.get("/deals/new?from_interaction=999").status_code == 404
    assert client.get("/deals/new?from_interaction=abc").status_code == 404
    assert deal_count() == 6


def test_bad_input_shows_messages_and_writes_nothing(client, desk, login_as):
    login_as(desk["anna"])
    response = client.post(
        "/deals/new",
        data=new_deal(desk, partner_id="", kind_id="", amount="много", expected_close="31.02.2026"),
    )
    assert response.status_code == 422
    page = page_text(response)
    assert "Choose a partner." in page
    assert "Choose the kind of deal." in page
    assert "is not a number" in page
    assert "is not a real date" in page
    assert deal_count() == 6
    again = form_fields(page, "/deals/new")
    assert again["amount"] == "много" and again["title"] == "Трубы на склад"


def test_contact_of_another_partner_is_refused_and_nothing_written(client, desk, login_as):
    login_as(desk["anna"])
    petr = desk["lyutik"].contact_persons[0]
    response = client.post(
        "/deals/new", data=new_deal(desk, **{"contacts-0-contact_person_id": str(petr.id)})
    )
    assert response.status_code == 422
    assert "Choose a contact person of the deal&#39;s partner." in text(response)
    assert deal_count() == 6


def test_partner_the_manager_cannot_see_is_refused(client, desk, login_as):
    login_as(desk["anna"])
    response = client.post("/deals/new", data=new_deal(desk, partner_id=str(desk["lyutik"].id)))
    assert response.status_code == 422
    assert "Choose a partner." in text(response)
    assert deal_count() == 6


def test_edit_keeps_the_kind_and_saves_the_fields(client, desk, login_as):
    login_as(desk["anna"])
    a1 = desk["deals"]["A1"]
    url = f"/deals/{a1.id}/edit"
    page = page_text(client.get(url))
    assert "The kind of a deal is fixed once it is saved." in page
    fields = form_fields(page, url)
    assert fields["amount"] == "1000.00" and fields["expected_close"] == "2026-03-01"
    fields.update(title="Трубы 2", amount="2 500", kind_id=str(desk["service"].id))
    response = client.post(url, data=fields)
    assert response.status_code == 302
    stored = fresh(a1.id)
    assert (stored.title, stored.amount, stored.kind_id) == (
        "Трубы 2",
        Decimal("2500.00"),
        desk["supply"].id,
    )


def test_edit_from_an_older_version_shows_the_conflict_and_saves_nothing(app, desk):
    a1 = desk["deals"]["A1"]
    url = f"/deals/{a1.id}/edit"
    anna = signed_in_client(app, desk["anna"])
    admin = signed_in_client(app, desk["admin"])
    anna_form = form_fields(page_text(anna.get(url)), url)
    admin_form = form_fields(page_text(admin.get(url)), url)
    assert anna_form["version"] == admin_form["version"] == "1"
    assert admin.post(url, data={**admin_form, "title": "Трубы от админа"}).status_code == 302

    refused = anna.post(url, data={**anna_form, "amount": "4000", "source": "Звонок"})

    assert refused.status_code == 409
    page = page_text(refused)
    assert "Someone else changed this" in page
    assert re.search(r"<strong>title</strong>: <span[^>]*>Поставка труб</span> → "
                     r"<span[^>]*>Трубы от админа</span>", page)  # fmt: skip
    again = form_fields(page, url)
    assert again["version"] == "2"
    assert again["title"] == "Трубы от админа"  # she had not touched it: theirs is taken
    assert (again["amount"], again["source"]) == ("4000", "Звонок")  # hers kept as typed
    stored = fresh(a1.id)
    assert (stored.title, stored.amount, stored.source) == ("Трубы от админа", Decimal("1000"), "")
    assert anna.post(url, data=again).status_code == 302
    stored = fresh(a1.id)
    assert (stored.title, stored.amount, stored.source) == (
        "Трубы от админа",
        Decimal("4000"),
        "Звонок",
    )


def test_damaged_version_is_refused(client, desk, login_as):
    login_as(desk["anna"])
    a1 = desk["deals"]["A1"]
    url = f"/deals/{a1.id}/edit"
    fields = form_fields(page_text(client.get(url)), url)
    response = client.post(url, data={**fields, "version": "x1", "title": "Нет"})
    assert response.status_code == 422
    assert "The form is damaged" in text(response)
    assert fresh(a1.id).title == "Поставка труб"


def test_edit_and_delete_permissions(client, desk, login_as):
    d = desk["deals"]
    login_as(desk["anna"])
    codes = {
        "own edit": client.get(f"/deals/{d['A1'].id}/edit").status_code,
        "joined view": client.get(f"/deals/{d['B1'].id}").status_code,
        "joined edit": client.get(f"/deals/{d['B1'].id}/edit").status_code,
        "hidden view": client.get(f"/deals/{d['B3'].id}").status_code,
        "hidden edit": client.post(f"/deals/{d['B3'].id}/edit", data={}).status_code,
        "missing": client.get("/deals/9999").status_code,
        "own delete": client.post(f"/deals/{d['A1'].id}/delete").status_code,
        "bad id": client.get("/deals/abc").status_code,
        "huge id": client.get("/deals/99999999999").status_code,
        "huge edit": client.get("/deals/99999999999/edit").status_code,
        "bad document": client.post(f"/deals/{d['A1'].id}/documents/x/delete").status_code,
    }
    assert codes == {
        "own edit": 200,
        "joined view": 200,
        "joined edit": 403,
        "hidden view": 403,
        "hidden edit": 403,
        "missing": 404,
        "own delete": 403,
        "bad id": 404,
        "huge id": 404,
        "huge edit": 404,
        "bad document": 404,
    }
    assert deal_count() == 6


@pytest.mark.parametrize("role", ["viewer", "marketer"])
def test_viewers_and_marketers_read_but_change_nothing(client, desk, login_as, role):
    login_as(role)
    a1 = desk["deals"]["A1"]
    card = text(client.get(f"/deals/{a1.id}"))
    assert "Поставка труб" in card
    assert f"/deals/{a1.id}/edit" not in card and "/delete" not in card
    assert client.get(f"/deals/{a1.id}/edit").status_code == 403
    assert client.post(f"/deals/{a1.id}/edit", data={"title": "x"}).status_code == 403
    assert client.post("/deals/new", data=new_deal(desk)).status_code == 403
    assert client.post(f"/deals/{a1.id}/delete").status_code == 403
    assert fresh(a1.id).title == "Поставка труб"


def test_admin_deletes_a_deal_and_its_interactions_keep_their_text(
    client, desk, login_as, make_interaction
):
    admin = login_as(desk["admin"])
    a1 = desk["deals"]["A1"]
    about = make_interaction(admin, partner=desk["romashka"], title="О сделке",
                             subject_type="deal", subject_id=a1.id)  # fmt: skip
    response = client.post(f"/deals/{a1.id}/delete")
    assert response.status_code == 302
    assert deal_count() == 5
    db.session.expire_all()
    kept = db.session.get(Interaction, about.id)
    assert (kept.subject_type, kept.subject_id, kept.subject_text) == (
        "",
        None,
        "A1 — Поставка труб",
    )


def test_post_without_the_csrf_token_is_refused(client, desk, login_as, app):
    login_as(desk["anna"])
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/deals/new", data=new_deal(desk))
    assert response.status_code == 400
    assert deal_count() == 6


def test_contact_rows_follow_the_chosen_partner(client, desk, login_as):
    login_as(desk["anna"])
    rows = client.get(
        f"/deals/contact-rows?partner_id={desk['romashka'].id}", headers={"HX-Request": "true"}
    )
    assert "<html" not in text(rows) and "Ольга" in text(rows)
    hidden = text(client.get(f"/deals/contact-rows?partner_id={desk['lyutik'].id}"))
    assert "Пётр" not in hidden and "deal-no-persons" in hidden
    assert client.get("/deals/contact-rows?partner_id=zz").status_code == 200
