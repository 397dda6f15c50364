"""The Suppression list tab: search and filters, adding addresses by hand, taking one off (a
bounce only by admins and marketers, with a note), the CSV export; a manager sees only the
addresses of his own partners."""

from __future__ import annotations

import csv
import html
import io
import re

from sqlalchemy import select

from crm.extensions import db
from crm.messaging import suppression
from crm.messaging.models import Suppression
from tests.auth.helpers import committed_count, csrf_from_form

HTMX = {"HX-Request": "true"}


def _rows(response) -> list[str]:
    """The addresses of the list's rows, in order."""
    body = response.get_data(as_text=True)
    rows = re.findall(r'<tr id="suppression-\d+">\s*<td[^>]*>([^<]+)', body)
    return [html.unescape(r).strip() for r in rows]


def _text(response) -> str:
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(text).split())


def _suppress(address: str, reason: str, channel: str = "email") -> None:
    suppression.suppress(None, channel, address, reason)
    db.session.commit()


def test_the_list_is_searched_and_filtered(client, login_as):
    _suppress("anna@shop.test", "bounced")
    _suppress("boris@shop.test", "unsubscribed")
    _suppress("carl@other.test", "manual")
    _suppress("+7 916 555-12-34", "stop", "sms")
    login_as("marketer")

    everything = client.get("/messaging/suppression/")
    shop = client.get("/messaging/suppression/?q=SHOP")
    bounced = client.get("/messaging/suppression/?reason=bounced", headers=HTMX)
    phone = client.get("/messaging/suppression/?q=555-12")

    # Newest first.
    assert _rows(everything) == [
        "+79165551234",
        "carl@other.test",
        "boris@shop.test",
        "anna@shop.test",
    ]
    assert "4 addresses" in _text(everything)
    assert _rows(shop) == ["boris@shop.test", "anna@shop.test"]
    assert _rows(bounced) == ["anna@shop.test"] and "<html" not in bounced.get_data(as_text=True)
    assert bounced.headers["HX-Push-Url"] == "/messaging/suppression/?reason=bounced"
    assert _rows(phone) == ["+79165551234"]


def test_a_manager_sees_only_the_addresses_of_his_partners(
    client, login_as, make_user, make_partner
):
    manager, other = make_user("manager"), make_user("manager")
    make_partner(name="Mine", responsible=manager, emails=["mine@x.test"])
    make_partner(
        name="Theirs",
        responsible=other,
        emails=["theirs@x.test"],
        persons=[{"name": "Ted", "email": "ted@x.test"}],
    )
    make_partner(
        name="Mine too", responsible=manager, persons=[{"name": "Meg", "phone": "+7 916 000-11-22"}]
    )
    for address in ("mine@x.test", "theirs@x.test", "ted@x.test", "nobody@x.test"):
        _suppress(address, "manual")
    _suppress("+79160001122", "stop", "sms")
    login_as(manager)

    listed = client.get("/messaging/suppression/")
    exported = client.get("/messaging/suppression/export")

    assert sorted(_rows(listed)) == ["+79160001122", "mine@x.test"]
    lines = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    # A text cell never starts a formula in a spreadsheet (crm.exporting): "+" is quoted.
    assert sorted(r[1] for r in lines[1:]) == ["'+79160001122", "mine@x.test"]


def test_the_export_is_a_csv_of_the_matching_addresses(client, login_as):
    _suppress("anna@shop.test", "bounced")
    _suppress("carl@other.test", "manual")
    login_as("viewer")

    response = client.get("/messaging/suppression/export?q=shop")

    assert response.headers["Content-Type"].startswith("text/csv")
    assert 'filename="suppression-list.csv"' in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0] == ["channel", "address", "reason", "note", "added_at_utc"]
    assert [r[:4] for r in lines[1:]] == [["email", "anna@shop.test", "bounced", ""]]


def test_addresses_are_added_by_hand_one_or_many(client, login_as):
    _suppress("old@x.test", "bounced")
    login_as("marketer")

    response = client.post(
        "/messaging/suppression/add",
        data={
            "channel": "email",
            "addresses": "New@x.test\nold@x.test, second@x.test",
            "note": "list from sales",
        },
        follow_redirects=True,
    )

    assert "2 addresses added to the suppression list. 1 was on it already." in _text(response)
    rows = db.session.execute(
        select(Suppression.address_norm, Suppression.reason, Suppression.note).order_by(
            Suppression.address_norm
        )
    ).all()
    assert rows == [
        ("new@x.test", "manual", "list from sales"),
        ("old@x.test", "bounced", ""),
        ("second@x.test", "manual", "list from sales"),
    ]


def test_a_bad_address_in_the_paste_adds_nothing_and_says_which(client, login_as):
    login_as("admin")

    response = client.post(
        "/messaging/suppression/add",
        data={"channel": "email", "addresses": "good@x.test\nnot an address"},
    )

    assert response.status_code == 422
    assert "Not addresses: not, an, address. Nothing was added." in _text(response)
    assert committed_count(Suppression) == 0


def test_only_admins_and_marketers_add_by_hand(client, login_as):
    for role in ("manager", "viewer"):
        login_as(role)
        response = client.post(
            "/messaging/suppression/add", data={"channel": "email", "addresses": "a@x.test"}
        )
        assert response.status_code == 403
    assert committed_count(Suppression) == 0


def test_a_bounce_is_lifted_by_a_marketer_with_a_note_and_never_by_a_manager(
    client, login_as, make_user, make_partner
):
    manager = make_user("manager")
    make_partner(responsible=manager, emails=["bounced@x.test"])
    _suppress("bounced@x.test", "bounced")
    row_id = db.session.execute(select(Suppression.id)).scalar_one()

    login_as(manager)
    page = client.get("/messaging/suppression/")
    assert "Take off the list" not in _text(page)
    assert (
        client.post(f"/messaging/suppression/{row_id}/remove", data={"note": "works"}).status_code
        == 403
    )

    login_as("marketer")
    no_note = client.post(f"/messaging/suppression/{row_id}/remove", follow_redirects=True)
    assert "Note is required." in _text(no_note)
    assert committed_count(Suppression) == 1
    done = client.post(
        f"/messaging/suppression/{row_id}/remove",
        data={"note": "mailbox repaired"},
        follow_redirects=True,
    )
    assert "bounced@x.test is taken off the suppression list." in _text(done)
    assert committed_count(Suppression) == 0


def test_a_manager_lifts_a_hand_made_suppression_of_his_partner_only(
    client, login_as, make_user, make_partner
):
    manager, other = make_user("manager"), make_user("manager")
    make_partner(responsible=manager, emails=["mine@x.test"])
    make_partner(responsible=other, emails=["theirs@x.test"])
    _suppress("mine@x.test", "manual")
    _suppress("theirs@x.test", "manual")
    mine, theirs = db.session.execute(select(Suppression.id).order_by(Suppression.id)).scalars()
    login_as(manager)

    assert client.post(f"/messaging/suppression/{theirs}/remove").status_code == 404
    assert client.post(f"/messaging/suppression/{mine}/remove").status_code == 302

    assert db.session.execute(select(Suppression.address_norm)).scalars().all() == ["theirs@x.test"]


def test_adding_needs_the_csrf_token(app, client, login_as):
    login_as("marketer")
    app.config["WTF_CSRF_ENABLED"] = True
    data = {"channel": "email", "addresses": "a@x.test"}

    refused = client.post("/messaging/suppression/add", data=data)
    token = csrf_from_form(client.get("/messaging/suppression/").get_data(as_text=True))
    accepted = client.post("/messaging/suppression/add", data={**data, "csrf_token": token})

    assert refused.status_code == 400 and accepted.status_code == 302
    assert db.session.execute(select(Suppression.address_norm)).scalars().all() == ["a@x.test"]
