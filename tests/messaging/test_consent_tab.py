"""The partner card's Mailings tab: each e-mail and phone of the partner and its contact
persons with its consent, language, opt-outs and suppression, the last messages; managers
record consents of their own partners (HTMX swaps the tab's part; without JavaScript the form
goes back to the card), viewers read."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from crm.extensions import db
from crm.messaging import consent, suppression
from crm.messaging.models import GroupOptOut, Mailing, Subscriber, Suppression
from tests.auth.helpers import committed_count, csrf_from_form, database_snapshot

HTMX = {"HX-Request": "true"}


def _text(body: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _card(body: str, detail_id: int) -> str:
    """The text of one address's card on the tab."""
    match = re.search(
        rf'<section class="card h-100" id="mailing-address-{detail_id}">(.*?)</section>', body, re.S
    )
    assert match, f"no card of address {detail_id}"
    return _text(match.group(1))


def _tab(client, partner) -> str:
    response = client.get(f"/partners/{partner.id}?tab=mailings", headers=HTMX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _detail_ids(partner) -> dict[str, int]:
    ids = {d.value: d.id for d in partner.contact_details}
    for person in partner.contact_persons:
        ids.update({d.value: d.id for d in person.contact_details})
    return ids


def test_the_tab_shows_each_address_with_what_is_known_of_it(
    client, login_as, make_user, make_partner, make_group, make_message
):
    manager = make_user("manager")
    promo = make_group("Promotions", "advertising")
    make_group("Orders", "service")
    partner = make_partner(
        name="Alpha",
        responsible=manager,
        emails=["office@alpha.test"],
        phones=["+7 495 111-22-33"],
        persons=[{"name": "Olga", "email": "olga@alpha.test"}],
    )
    consent.grant_consent(manager, "email", "office@alpha.test", source="signed paper")
    consent.set_language(manager, "email", "olga@alpha.test", "en")
    consent.opt_out(manager, promo, "email", "olga@alpha.test")
    suppression.suppress(None, "sms", "+74951112233", "stop")
    mailing = Mailing(name="Spring sale", channel="email", group_id=promo.id)
    db.session.add(mailing)
    db.session.commit()
    make_message("office@alpha.test", group=promo, partner=partner, mailing=mailing, state="sent")
    make_message(
        "olga@alpha.test",
        partner=partner,
        kind="order_status",
        state="failed",
        error="550 rejected",
    )
    login_as(manager)

    body = _tab(client, partner)
    ids = _detail_ids(partner)

    assert "<html" not in body
    office = _card(body, ids["office@alpha.test"])
    assert "Consent to advertising: yes since" in office and "signed paper" in office
    assert "Language of messages: Russian (default) · Opted out of: —" in office
    olga = _card(body, ids["olga@alpha.test"])
    assert "Olga" in olga and "Consent to advertising: no" in olga
    assert "Language of messages: English · Opted out of: Promotions" in olga
    phone = _card(body, ids["+7 495 111-22-33"])
    assert "Suppressed: nothing is sent to this address (SMS STOP" in phone
    messages = _text(
        re.search(r'<table[^>]*id="partner-messages">(.*?)</table>', body, re.S).group(1)
    )
    assert "Spring sale office@alpha.test (E-mail) Sent" in messages
    assert "Order status changed olga@alpha.test (E-mail) Failed 550 rejected" in messages


def test_a_manager_records_a_consent_on_his_partners_card_with_htmx(
    client, login_as, make_user, make_partner
):
    manager = make_user("manager", name="Pavel")
    partner = make_partner(responsible=manager, emails=["buyer@beta.test"])
    detail_id = _detail_ids(partner)["buyer@beta.test"]
    login_as(manager)

    response = client.post(
        f"/messaging/partners/{partner.id}/addresses/{detail_id}/consent",
        data={"action": "grant", "source": "form on the website 04.12.2026", "on": "2026-12-01"},
        headers=HTMX,
    )

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith('<div id="partner-mailings">')
    card = _card(body, detail_id)
    assert "Consent to advertising: yes since 1 Dec 2026 — form on the website 04.12.2026" in card
    assert "History of the consent" in card and "Pavel" in card
    sub = db.session.execute(select(Subscriber)).scalar_one()
    assert (sub.consent, sub.partner_id, sub.consent_source) == (
        True,
        partner.id,
        "form on the website 04.12.2026",
    )


def test_without_javascript_the_form_goes_back_to_the_card(
    client, login_as, make_user, make_partner
):
    manager = make_user("manager")
    partner = make_partner(responsible=manager, emails=["buyer@beta.test"])
    detail_id = _detail_ids(partner)["buyer@beta.test"]
    consent.grant_consent(manager, "email", "buyer@beta.test", source="paper")
    db.session.commit()
    login_as(manager)

    response = client.post(
        f"/messaging/partners/{partner.id}/addresses/{detail_id}/consent",
        data={"action": "withdraw", "source": "asked by phone"},
    )

    assert response.status_code == 303
    assert response.location.endswith(f"/partners/{partner.id}?tab=mailings")
    page = client.get(response.location).get_data(as_text=True)
    assert "Consent of buyer@beta.test withdrawn." in _text(page)
    assert "withdrawn" in _card(page, detail_id) and "asked by phone" in _card(page, detail_id)


def test_a_consent_without_a_source_is_refused_next_to_the_address(
    client, login_as, make_user, make_partner
):
    manager = make_user("manager")
    partner = make_partner(responsible=manager, emails=["buyer@beta.test"])
    detail_id = _detail_ids(partner)["buyer@beta.test"]
    login_as(manager)
    url = f"/messaging/partners/{partner.id}/addresses/{detail_id}/consent"

    no_source = client.post(url, data={"action": "grant", "source": " "}, headers=HTMX)
    bad_date = client.post(
        url, data={"action": "grant", "source": "paper", "on": "31.02.2026"}, headers=HTMX
    )
    bad_action = client.post(url, data={"action": "explode", "source": "paper"}, headers=HTMX)

    assert no_source.status_code == 422
    assert "Source is required." in _card(no_source.get_data(as_text=True), detail_id)
    assert bad_date.status_code == 422 and "is not a real date" in _text(
        bad_date.get_data(as_text=True)
    )
    assert bad_action.status_code == 422
    assert committed_count(Subscriber) == 0


def test_language_and_group_opt_outs_are_saved_from_the_checkboxes(
    client, login_as, make_user, make_partner, make_group
):
    manager = make_user("manager")
    promo, news, orders = (
        make_group("Promotions", "advertising"),
        make_group("News", "advertising"),
        make_group("Orders", "service"),
    )
    partner = make_partner(
        responsible=manager, persons=[{"name": "Olga", "email": "olga@alpha.test"}]
    )
    detail_id = _detail_ids(partner)["olga@alpha.test"]
    consent.opt_out(manager, news, "email", "olga@alpha.test")
    db.session.commit()
    login_as(manager)
    shown = [promo.id, news.id, orders.id]

    response = client.post(
        f"/messaging/partners/{partner.id}/addresses/{detail_id}/preferences",
        data={"language": "en", "groups": shown, "opted_out": [promo.id, orders.id]},
        headers=HTMX,
    )

    assert response.status_code == 200
    # Advertising groups first, then service ones.
    assert "Language of messages: English · Opted out of: Promotions, Orders" in _card(
        response.get_data(as_text=True), detail_id
    )
    opted = db.session.execute(select(GroupOptOut.group_id).order_by(GroupOptOut.group_id))
    assert list(opted.scalars()) == [promo.id, orders.id]
    sub = db.session.execute(select(Subscriber)).scalar_one()
    assert (sub.language, sub.contact_person_id) == ("en", partner.contact_persons[0].id)


def test_a_manager_suppresses_an_address_but_cannot_lift_a_bounce(
    client, login_as, make_user, make_partner
):
    manager = make_user("manager")
    partner = make_partner(responsible=manager, emails=["a@beta.test", "b@beta.test"])
    ids = _detail_ids(partner)
    suppression.suppress(None, "email", "b@beta.test", "bounced")
    db.session.commit()
    login_as(manager)
    base = f"/messaging/partners/{partner.id}/addresses"

    done = client.post(
        f"{base}/{ids['a@beta.test']}/suppression", data={"action": "suppress", "note": "closed"}
    )
    page = _tab(client, partner)
    refused = client.post(
        f"{base}/{ids['b@beta.test']}/suppression",
        data={"action": "unsuppress", "note": "x"},
        headers=HTMX,
    )

    assert done.status_code == 303
    assert "Only administrators and marketers may lift a bounce or a complaint." in _card(
        page, ids["b@beta.test"]
    )
    assert refused.status_code == 403
    rows = db.session.execute(
        select(Suppression.address_norm, Suppression.reason).order_by(Suppression.id)
    ).all()
    assert rows == [("b@beta.test", "bounced"), ("a@beta.test", "manual")]


def test_a_manager_may_not_touch_another_managers_partner(
    client, login_as, make_user, make_partner
):
    other = make_user("manager")
    partner = make_partner(responsible=other, emails=["secret@gamma.test"])
    detail_id = _detail_ids(partner)["secret@gamma.test"]
    login_as("manager")
    before = database_snapshot()

    for kind, data in (
        ("consent", {"action": "grant", "source": "paper"}),
        ("preferences", {"language": "en"}),
        ("suppression", {"action": "suppress"}),
    ):
        response = client.post(
            f"/messaging/partners/{partner.id}/addresses/{detail_id}/{kind}", data=data
        )
        assert response.status_code == 403, kind

    assert database_snapshot() == before


def test_an_address_of_another_partner_is_not_found(client, login_as, make_user, make_partner):
    manager = make_user("manager")
    mine = make_partner(responsible=manager, emails=["mine@x.test"])
    theirs = make_partner(responsible=manager, emails=["theirs@x.test"])
    login_as(manager)

    response = client.post(
        f"/messaging/partners/{mine.id}/addresses/{_detail_ids(theirs)['theirs@x.test']}/consent",
        data={"action": "grant", "source": "paper"},
    )

    assert response.status_code == 404
    assert committed_count(Subscriber) == 0


def test_a_viewer_reads_the_tab_without_forms_and_may_not_post(
    client, login_as, make_user, make_partner
):
    partner = make_partner(emails=["a@x.test"])
    detail_id = _detail_ids(partner)["a@x.test"]
    login_as("viewer")

    body = _tab(client, partner)
    response = client.post(
        f"/messaging/partners/{partner.id}/addresses/{detail_id}/consent",
        data={"action": "grant", "source": "paper"},
    )

    assert "Consent to advertising: no" in _card(body, detail_id)
    assert "<form" not in body
    assert response.status_code == 403
    assert committed_count(Subscriber) == 0


def test_the_tabs_forms_need_the_csrf_token(app, client, login_as, make_user, make_partner):
    manager = make_user("manager")
    partner = make_partner(responsible=manager, emails=["a@x.test"])
    detail_id = _detail_ids(partner)["a@x.test"]
    login_as(manager)
    app.config["WTF_CSRF_ENABLED"] = True
    url = f"/messaging/partners/{partner.id}/addresses/{detail_id}/consent"
    data = {"action": "grant", "source": "paper"}

    refused = client.post(url, data=data)
    token = csrf_from_form(
        client.get(f"/partners/{partner.id}?tab=mailings").get_data(as_text=True)
    )
    accepted = client.post(url, data={**data, "csrf_token": token})

    assert refused.status_code == 400 and accepted.status_code == 303
    assert committed_count(Subscriber) == 1
