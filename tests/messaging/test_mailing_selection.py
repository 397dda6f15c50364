"""«Start a mailing» on a selection of partners (crm/messaging/selections.py): from a segment's
page a draft whose recipients are the segment (taken when it is sent), from any other list a
draft with the partners the list shows the user added by hand — evaluated again for him,
never read from the form (the desk of tests/messaging/conftest.py)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

from sqlalchemy import func, select

from crm.extensions import db
from crm.messaging.models import Mailing, MailingPartner

URL = "/messaging/mailings/from-selection"


def start(client, source, args, next_path="/partners/", **extra):
    return client.post(
        URL, data={"source": source, "args": urlencode(args), "next": next_path, **extra}
    )


def the_mailing() -> Mailing:
    return db.session.execute(select(Mailing)).scalar_one()


def picked(mailing) -> set[int]:
    return set(
        db.session.execute(
            select(MailingPartner.partner_id).where(MailingPartner.mailing_id == mailing.id)
        ).scalars()
    )


def mailings_count() -> int:
    return db.session.execute(select(func.count(Mailing.id))).scalar_one()


def test_a_segment_page_starts_a_mailing_to_the_segment_itself(client, login_as, desk):
    from crm.segments.services import add_members, create_segment

    segment = create_segment(desk.marketer, "Постоянные клиенты", "manual")
    add_members(desk.marketer, segment, [desk.p["P1"].id, desk.p["P3"].id])
    db.session.commit()
    login_as(desk.marketer)
    page = unescape(client.get(f"/segments/{segment.id}").get_data(as_text=True))
    form = re.search(r'<form[^>]*action="/messaging/mailings/from-selection".*?</form>', page, re.S)
    assert form and 'data-action="messaging.mailing"' in form.group(0)
    assert "Start a mailing" in form.group(0)

    response = start(client, "segment", {"id": segment.id}, f"/segments/{segment.id}")

    mailing = the_mailing()
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/messaging/mailings/{mailing.id}/edit")
    assert (mailing.state, mailing.channel) == ("draft", "email")
    assert (mailing.scope_key, mailing.scope_value) == ("segment", str(segment.id))
    assert mailing.name.startswith("Mailing: Постоянные клиенты on ")
    assert picked(mailing) == set()  # the segment is taken when the mailing is sent
    form_page = unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert f'<option value="{segment.id}" selected>Постоянные клиенты</option>' in form_page


def test_the_partner_list_starts_a_mailing_to_the_partners_it_shows(client, login_as, desk):
    from crm.partners.services import sync_search

    for code in ("P1", "P3"):
        desk.p[code].city = "Казань"
        sync_search(desk.p[code])
    db.session.commit()
    login_as(desk.marketer)
    listed = unescape(client.get("/partners/?city=Казань").get_data(as_text=True))
    assert 'data-action="messaging.mailing"' in listed

    # Ids in the form are never read: only the source, evaluated for the user.
    response = start(client, "partners", {"city": "Казань"}, partner_id=[desk.p["P2"].id])

    mailing = the_mailing()
    assert response.headers["Location"].endswith(f"/messaging/mailings/{mailing.id}/edit")
    assert mailing.scope_key == ""
    assert picked(mailing) == {desk.p["P1"].id, desk.p["P3"].id}


def test_an_empty_list_or_an_unknown_source_makes_nothing(client, login_as, desk):
    login_as(desk.marketer)

    empty = start(client, "partners", {"city": "Нигде"})
    unknown = start(client, "nowhere", {})
    gone = start(client, "segment", {"id": 999})

    assert [r.status_code for r in (empty, unknown, gone)] == [303, 303, 303]
    assert empty.headers["Location"] == "/partners/"
    follow = unescape(client.get("/partners/").get_data(as_text=True))
    assert "Nobody is in this list: no mailing was made." in follow
    assert mailings_count() == 0


def test_only_who_makes_mailings_gets_the_action(client, login_as, desk):
    login_as(desk.anna)
    listed = client.get("/partners/").get_data(as_text=True)
    assert 'data-action="messaging.mailing"' not in listed
    assert start(client, "partners", {}).status_code == 403
    login_as(desk.viewer)
    assert start(client, "partners", {}).status_code == 403
    assert mailings_count() == 0
