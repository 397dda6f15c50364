"""Two people editing one partner or contact person: a save from a form opened before
someone else's change is refused with what changed (409) and the input kept; nothing is
overwritten silently. Expected values are the ones typed here."""

from __future__ import annotations

import re
import threading

import pytest

from crm.auth.models import User
from crm.core.versioning import StaleRecord
from crm.extensions import db
from crm.partners import services
from crm.partners.models import ContactPerson, Partner
from tests.helpers import form_fields, hidden_version, page_text, signed_in_client
from tests.partners.helpers import HX, fresh


@pytest.fixture
def two(app, make_user, make_partner):
    """Anna and Boris (admins) in two browsers, and a partner both may edit."""
    anna = make_user("admin", name="Anna Petrova")
    boris = make_user("admin", name="Boris Ivanov")
    partner = make_partner(
        name="Ромашка",
        code="R-1",
        city="Москва",
        notes="",
        responsible=anna,
        persons=[{"name": "Иван Сидоров", "position": "buyer"}],
    )
    return {
        "anna": signed_in_client(app, anna),
        "boris": signed_in_client(app, boris),
        "partner": partner,
        "person": partner.contact_persons[0],
    }


def test_notes_saved_from_an_older_form_do_not_bring_the_old_city_back(two):
    """The story of the issue: Anna saves a new city, then Boris saves notes from the form he
    opened before — refused, the city stays, he sees what changed and keeps his notes."""
    url = f"/partners/{two['partner'].id}/edit"
    anna_form = form_fields(page_text(two["anna"].get(url)), url)
    boris_form = form_fields(page_text(two["boris"].get(url)), url)
    assert anna_form["version"] == boris_form["version"] == "1"

    saved = two["anna"].post(url, data={**anna_form, "city": "Казань"})
    assert saved.status_code == 302
    refused = two["boris"].post(url, data={**boris_form, "notes": "Звонить после обеда"})

    assert refused.status_code == 409
    p = fresh(Partner, two["partner"].id)
    assert (p.city, p.notes) == ("Казань", "")
    page = page_text(refused)
    assert "Someone else changed this partner after you opened it" in page
    assert re.search(
        r"<strong>city</strong>: <span[^>]*>Москва</span> → <span[^>]*>Казань</span>", page
    )
    assert "Anna Petrova" in page
    again = form_fields(page, url)
    assert again["notes"] == "Звонить после обеда"  # his input is on the screen
    assert again["city"] == "Казань"  # a field he had not touched shows Anna's value
    assert again["version"] == "2"  # a deliberate second save goes through

    resaved = two["boris"].post(url, data=again)  # saved again as it stands

    assert resaved.status_code == 302
    p = fresh(Partner, two["partner"].id)
    assert (p.city, p.notes, p.version) == ("Казань", "Звонить после обеда", 3)


def test_a_field_both_changed_keeps_the_later_users_input_for_him_to_decide(two):
    url = f"/partners/{two['partner'].id}/edit"
    anna_form = form_fields(page_text(two["anna"].get(url)), url)
    boris_form = form_fields(page_text(two["boris"].get(url)), url)
    two["anna"].post(url, data={**anna_form, "city": "Казань", "notes": "VIP"})

    refused = two["boris"].post(url, data={**boris_form, "city": "Тверь"})

    assert refused.status_code == 409
    again = form_fields(page_text(refused), url)
    assert (again["city"], again["notes"]) == ("Тверь", "VIP")  # his city, her untouched notes
    p = fresh(Partner, two["partner"].id)
    assert (p.city, p.notes) == ("Казань", "VIP")


def test_a_form_without_a_version_saves_as_before(two):
    url = f"/partners/{two['partner'].id}/edit"
    form = form_fields(page_text(two["anna"].get(url)), url)
    del form["version"]

    assert two["anna"].post(url, data={**form, "city": "Тула"}).status_code == 302
    assert fresh(Partner, two["partner"].id).city == "Тула"


def test_a_damaged_version_is_a_clear_error_and_changes_nothing(two):
    url = f"/partners/{two['partner'].id}/edit"
    form = form_fields(page_text(two["anna"].get(url)), url)

    response = two["anna"].post(url, data={**form, "city": "Тула", "version": "1e9"})

    assert response.status_code == 422
    assert "reload the page" in page_text(response)
    assert fresh(Partner, two["partner"].id).city == "Москва"


def test_inline_edit_from_before_another_change_is_refused_in_the_fragment(two):
    pid = two["partner"].id
    editor = page_text(two["anna"].get(f"/partners/{pid}/fields/city?edit=1", headers=HX))
    assert hidden_version(editor) == 1
    two["boris"].post(
        f"/partners/{pid}/fields/notes", headers=HX, data={"value": "VIP", "version": "1"}
    )

    refused = two["anna"].post(
        f"/partners/{pid}/fields/city", headers=HX, data={"value": "Казань", "version": "1"}
    )

    page = page_text(refused)
    assert refused.status_code == 409
    assert "<html" not in page
    assert 'name="value" value="Казань"' in page  # her input stays in the editor
    assert re.search(r"<strong>notes</strong>: <span[^>]*>—</span> → <span[^>]*>VIP</span>", page)
    assert "Boris Ivanov" in page
    assert hidden_version(page) == 2
    assert fresh(Partner, pid).city == "Москва"

    resaved = two["anna"].post(
        f"/partners/{pid}/fields/city", headers=HX, data={"value": "Казань", "version": "2"}
    )

    assert resaved.status_code == 200
    p = fresh(Partner, pid)
    assert (p.city, p.notes) == ("Казань", "VIP")


def test_contact_person_saved_from_an_older_form_is_refused(two):
    url = f"/partners/{two['partner'].id}/persons/{two['person'].id}"
    anna_form = form_fields(page_text(two["anna"].get(url)), url)
    boris_form = form_fields(page_text(two["boris"].get(url)), url)
    assert two["anna"].post(url, data={**anna_form, "position": "chief buyer"}).status_code == 302

    refused = two["boris"].post(url, data={**boris_form, "notes": "likes tea"})

    assert refused.status_code == 409
    page = page_text(refused)
    assert re.search(
        r"<strong>position</strong>: <span[^>]*>buyer</span> → "
        r"<span[^>]*>chief buyer</span>",
        page,
    )
    assert "likes tea" in page
    person = fresh(ContactPerson, two["person"].id)
    assert (person.position, person.notes) == ("chief buyer", "")

    again = form_fields(page, url)
    assert two["boris"].post(url, data={**again, "position": "chief buyer"}).status_code == 302
    person = fresh(ContactPerson, two["person"].id)
    assert (person.position, person.notes) == ("chief buyer", "likes tea")


def test_a_contacts_import_moves_the_persons_version(two, app):
    """A person's form opened before an import must not undo what the import wrote."""
    from crm.exchange.importer import import_rows

    url = f"/partners/{two['partner'].id}/persons/{two['person'].id}"
    boris_form = form_fields(page_text(two["boris"].get(url)), url)
    report = import_rows(
        "contacts", [{"partner_code": "R-1", "name": "Иван Сидоров", "position": "director"}]
    )
    assert report.ok, report.errors
    db.session.commit()

    refused = two["boris"].post(url, data={**boris_form, "notes": "likes tea"})

    assert refused.status_code == 409
    assert fresh(ContactPerson, two["person"].id).position == "director"


def test_a_merge_moves_the_versions_of_what_it_changes(two, make_partner, make_user):
    other = make_partner(name="Ромашка ООО", code="R-2")
    survivor_id = two["partner"].id
    admin = make_user("admin")

    services.merge_partners(admin, fresh(Partner, survivor_id), fresh(Partner, other.id), {})
    db.session.commit()

    assert fresh(Partner, survivor_id).version == 2
    assert fresh(Partner, other.id).version == 2


def test_two_saves_racing_past_the_check_cannot_both_win(app, make_user, make_partner):
    """Two connections load version 1 and save at once: exactly one is stored, the other is
    refused with the winner's change (the UPDATE itself checks the version)."""
    if app.config["CRM_BACKEND"] != "postgresql":
        pytest.skip("two real connections at once: PostgreSQL")
    anna = make_user("admin", name="Anna Petrova")
    partner = make_partner(name="Ромашка", code="R-1", city="Москва")
    partner_id, anna_id = partner.id, anna.id  # the threads must not touch this session
    db.session.commit()
    both_loaded = threading.Barrier(2, timeout=30)
    outcome: dict[str, object] = {}

    def save(city: str) -> None:
        with app.app_context():
            try:
                p = db.session.get(Partner, partner_id)
                actor = db.session.get(User, anna_id)
                loaded = p.version
                both_loaded.wait()
                services.update_partner(actor, p, {"city": city}, version=loaded)
                db.session.commit()
                outcome[city] = "saved"
            except StaleRecord as exc:
                db.session.rollback()
                outcome[city] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=save, args=(c,)) for c in ("Казань", "Тула")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sorted(type(v).__name__ for v in outcome.values()) == ["StaleRecord", "str"]
    winner = next(c for c, v in outcome.items() if v == "saved")
    loser = next(v for v in outcome.values() if isinstance(v, StaleRecord))
    stored = fresh(Partner, partner_id)
    assert (stored.city, stored.version) == (winner, 2)
    assert [f for c in loser.changes for f in c.fields] == [("city", "Москва", winner)]
