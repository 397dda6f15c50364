"""The Groups tab: everyone reads the groups; admins and marketers create, edit (a stale form
is refused with what changed) and delete them (not while something uses them)."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from crm.extensions import db
from crm.messaging.models import GroupOptOut, Mailing, MailingGroup
from tests.auth.helpers import committed_count, committed_row, csrf_from_form


def _text(response) -> str:
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(text).split())


def test_the_list_shows_each_group_with_its_kind_and_use(
    client, login_as, make_group, make_message
):
    promo = make_group("Promotions", "advertising", description="Sales and offers")
    make_group("Old news", "service", is_active=False)
    db.session.add(GroupOptOut(group_id=promo.id, channel="email", address_norm="a@x.test"))
    db.session.add(Mailing(name="Spring", channel="email", group_id=promo.id))
    db.session.commit()
    login_as("viewer")

    response = client.get("/messaging/groups/")

    assert response.status_code == 200
    rows = re.findall(r'<tr id="group-\d+">(.*?)</tr>', response.get_data(as_text=True), re.S)
    texts = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", r)).split()) for r in rows]
    assert texts == [
        "Promotions Sales and offers Advertising Active 1 1",
        "Old news Service notices Switched off 0 0",
    ]
    assert "38-FZ" in _text(response)  # why advertising needs a consent
    assert "New group" not in _text(response)  # a viewer only reads
    assert 'href="/messaging/groups/"' in response.get_data(as_text=True)  # the section's tab


def test_a_marketer_creates_a_group(client, login_as):
    login_as("marketer")
    form = client.get("/messaging/groups/new")
    assert "prior consent" in _text(form)

    response = client.post(
        "/messaging/groups/new",
        data={
            "name": " Service  notices ",
            "kind": "service",
            "description": "Orders",
            "is_active": "y",
        },
    )

    assert response.status_code == 302 and response.location.endswith("/messaging/groups/")
    group = db.session.execute(select(MailingGroup)).scalar_one()
    assert (group.name, group.kind, group.description, group.is_active) == (
        "Service notices",
        "service",
        "Orders",
        True,
    )


def test_a_name_taken_in_any_case_or_a_bad_kind_is_refused(client, login_as, make_group):
    make_group("Promotions", "advertising")
    login_as("admin")

    taken = client.post("/messaging/groups/new", data={"name": "PROMOTIONS", "kind": "advertising"})
    bad_kind = client.post("/messaging/groups/new", data={"name": "Other", "kind": "spam"})
    no_name = client.post("/messaging/groups/new", data={"name": "", "kind": "service"})

    assert taken.status_code == 422 and "A group with this name exists already." in _text(taken)
    assert bad_kind.status_code == 422 and "Choose one of: Advertising, Service notices." in _text(
        bad_kind
    )
    assert no_name.status_code == 422 and "Name is required." in _text(no_name)
    assert committed_count(MailingGroup) == 1


def test_managers_and_viewers_may_not_change_groups(client, login_as, make_group):
    group = make_group("Promotions", "advertising")

    for role in ("manager", "viewer"):
        login_as(role)
        assert client.get("/messaging/groups/new").status_code == 403
        assert (
            client.post("/messaging/groups/new", data={"name": "X", "kind": "service"}).status_code
            == 403
        )
        assert (
            client.post(
                f"/messaging/groups/{group.id}/edit", data={"name": "Y", "kind": "service"}
            ).status_code
            == 403
        )
        assert client.post(f"/messaging/groups/{group.id}/delete").status_code == 403

    assert committed_count(MailingGroup) == 1
    assert committed_row(MailingGroup, group.id)["name"] == "Promotions"


def test_an_edit_from_a_stale_form_is_refused_with_what_changed(
    client, login_as, make_user, make_group
):
    group = make_group("Promotions", "advertising")
    login_as("marketer")
    opened = group.version
    client.post(
        f"/messaging/groups/{group.id}/edit",
        data={"name": "Offers", "kind": "advertising", "is_active": "y", "version": opened},
    )

    late = client.post(
        f"/messaging/groups/{group.id}/edit",
        data={"name": "Promotions 2", "kind": "service", "is_active": "y", "version": opened},
    )

    assert late.status_code == 409
    assert "Someone else changed this" in _text(late)
    row = committed_row(MailingGroup, group.id)
    assert (row["name"], row["kind"], row["version"]) == ("Offers", "advertising", opened + 1)


def test_a_group_in_use_is_not_deleted_and_an_unused_one_goes_with_its_opt_outs(
    client, login_as, make_group
):
    used = make_group("Promotions", "advertising")
    unused = make_group("Old", "advertising")
    db.session.add(Mailing(name="Spring", channel="email", group_id=used.id))
    db.session.add(GroupOptOut(group_id=unused.id, channel="email", address_norm="a@x.test"))
    db.session.commit()
    login_as("admin")

    refused = client.post(f"/messaging/groups/{used.id}/delete", follow_redirects=True)
    done = client.post(f"/messaging/groups/{unused.id}/delete", follow_redirects=True)

    assert "is in use (mailings: 1, notifications: 0, messages: 0)" in _text(refused)
    assert "Group Old is deleted." in _text(done)
    assert committed_row(MailingGroup, used.id) is not None
    assert committed_row(MailingGroup, unused.id) is None
    assert committed_count(GroupOptOut) == 0


def test_a_group_form_needs_its_csrf_token(app, client, login_as):
    login_as("admin")
    app.config["WTF_CSRF_ENABLED"] = True

    refused = client.post("/messaging/groups/new", data={"name": "X", "kind": "service"})
    token = csrf_from_form(client.get("/messaging/groups/new").get_data(as_text=True))
    accepted = client.post(
        "/messaging/groups/new", data={"name": "X", "kind": "service", "csrf_token": token}
    )

    assert refused.status_code == 400
    assert accepted.status_code == 302
    assert db.session.execute(select(MailingGroup.name)).scalars().all() == ["X"]
