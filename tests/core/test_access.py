"""Who may open what. The route walks cover every registered view, so a new route is checked
without anyone adding it here; only the public and viewer-may-post marks exempt a view."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.routing.converters import NumberConverter

from crm.extensions import db
from crm.partners.models import ContactDetail, ContactPerson, Partner
from tests.auth.helpers import (
    cheap_password_hashing,
    committed_count,
    committed_row,
    database_snapshot,
    is_signed_in,
    new_browser,
)
from tests.conftest import DEFAULT_PASSWORD

SAFE = {"GET", "HEAD", "OPTIONS"}
HTMX = {"HX-Request": "true"}
FORBIDDEN = "You do not have access to this page or action."


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch):
    cheap_password_hashing(monkeypatch)


@pytest.fixture
def client(app):
    """Each request loads the user from this client's cookies (see FreshUserClient)."""
    return new_browser(app)


# --- walking the URL map ------------------------------------------------------------------


def marked(app, mark: str) -> set[str]:
    return {ep for ep, view in app.view_functions.items() if getattr(view, mark, False)}


def example_url(rule) -> str:
    """The rule's URL with 1 for numbers and "x" for every other argument."""
    values = {
        name: 1 if isinstance(conv, NumberConverter) else "x"
        for name, conv in rule._converters.items()
    }
    built = rule.build(values, append_unknown=False)
    assert built is not None, rule.rule
    return built[1]


def protected_rules(app):
    public = marked(app, "crm_public")
    return [
        r for r in app.url_map.iter_rules() if r.endpoint != "static" and r.endpoint not in public
    ]


def db_ids(model) -> list[int]:
    return sorted(db.session.execute(db.select(model.id)).scalars())


def is_login_url(location: str | None, url: str) -> bool:
    """`location` is the sign-in page that comes back to `url` afterwards."""
    target = urlsplit(location or "")
    return target.path == "/auth/login" and parse_qs(target.query).get("next") == [url]


def test_only_login_invite_calendar_feed_message_links_and_the_icon_are_public(app):
    # The calendar feed is read by calendar apps without a session: its URL holds a token.
    # /favicon.ico only redirects to the static icon (static files need no sign-in either).
    # A message's unsubscribe page, open pixel and tracked links are followed by its
    # recipient: the signed token in the URL is the proof.
    # The SMS gateway's hooks prove themselves with a shared secret (SMS_WEBHOOK_TOKEN).
    assert marked(app, "crm_public") == {
        "auth.login",
        "auth.invite",
        "interactions.feed",
        "favicon",
        "messaging_public.unsubscribe",
        "messaging_public.pixel",
        "messaging_public.click",
        "messaging_sms.inbound",
        "messaging_sms.status",
    }


def test_public_pages_open_without_signing_in(client):
    assert client.get("/auth/login").status_code == 200
    invite = client.get("/auth/invite/x")
    assert invite.status_code == 404  # the invite page itself answers: the link is not valid
    assert "This invitation link is not valid." in invite.get_data(as_text=True)


def test_every_route_except_public_ones_refuses_anonymous_users(app, client, make_partner):
    make_partner(
        name="Secret Partner",
        emails=["secret@example.test"],
        persons=[{"name": "Secret Person", "phone": "+7 495 123-45-67"}],
    )
    partners_before = committed_count(Partner)
    checked = set()

    for rule in protected_rules(app):
        url = example_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            where = f"{method} {url} ({rule.endpoint})"
            if method == "GET":
                assert response.status_code in (302, 401), where
                if response.status_code == 302:
                    assert is_login_url(response.location, url), f"{where} -> {response.location}"
            else:
                assert response.status_code == 401 or is_login_url(response.location, url), where
            assert "Secret" not in response.get_data(as_text=True), where

            htmx = client.open(url, method=method, headers=HTMX)
            assert htmx.status_code == 401, where
            if rule.rule.startswith("/api/"):
                # The JSON API asks for a bearer token instead of sending anyone to sign in.
                assert response.is_json and htmx.is_json, where
                assert response.headers["WWW-Authenticate"].startswith("Bearer"), where
            else:
                assert is_login_url(htmx.headers.get("HX-Redirect"), url), where
            checked.add(rule.endpoint)

    assert {"partners.index", "partners.detail", "auth.user_index", "auth.logout"} <= checked
    assert committed_count(Partner) == partners_before


def test_viewer_cannot_post_anywhere(app, client, login_as, make_user, make_partner):
    manager = make_user("manager")
    partner = make_partner(
        name="Kept Name",
        responsible=manager,
        emails=["kept@example.test"],
        persons=[{"name": "Ivan Kept", "email": "ivan@example.test"}],
    )
    # The walk puts 1 for every id: make sure those ids name real rows.
    assert partner.id == 1 and manager.id == 1
    assert db_ids(ContactDetail) == [1, 2] and db_ids(ContactPerson) == [1]
    login_as("viewer")
    exempt, public = marked(app, "crm_viewer_may_post"), marked(app, "crm_public")
    before = database_snapshot()
    payload = {
        "name": "Changed",
        "value": "Changed",
        "code": "CHANGED",
        "email": "c@example.com",
        "kind": "email",
        "role": "admin",
        "active": "y",
        "other": "1",
        "pick_name": "other",
        "password": "changed-password",
        "current": DEFAULT_PASSWORD,
    }
    checked = set()

    for rule in app.url_map.iter_rules():
        if rule.endpoint in exempt:
            continue
        for method in sorted(rule.methods - SAFE):
            url = example_url(rule)
            response = client.open(url, method=method, data=payload)
            where = f"{method} {url} ({rule.endpoint})"
            if rule.endpoint in public:
                # Open to anyone (sign-in, invitations): a viewer is no worse than a stranger.
                # Signed in, the login page just sends him on; the snapshot shows no change.
                assert response.status_code in (302, 404), where
            elif rule.rule.startswith("/api/"):
                assert response.status_code == 401, where  # cookies never sign an API call
            else:
                assert response.status_code == 403, where
            checked.add(rule.endpoint)

    assert {"partners.update", "partners.delete", "auth.user_create"} <= checked
    assert database_snapshot() == before
    assert committed_row(Partner, 1)["name"] == "Kept Name"
    assert is_signed_in(client)


def test_only_own_account_tokens_feed_and_notifications_are_exempt_for_viewers(app):
    # ...and the API's count of a segment rule, a POST that writes nothing.
    assert marked(app, "crm_viewer_may_post") == {
        "api.segments_count",
        "auth.logout",
        "auth.account",
        "auth.account_settings",
        "auth.token_create",
        "auth.token_revoke",
        "auth.sessions_end_all",
        "auth.session_end",
        "interactions.feed_create",
        "interactions.feed_revoke",
        "notifications.open",
        "notifications.read_all",
    }


def test_viewer_may_change_own_password_and_sign_out(client, login_as):
    viewer = login_as("viewer")

    changed = client.post(
        "/auth/account", data={"current": DEFAULT_PASSWORD, "password": "viewer-new-secret"}
    )
    assert changed.status_code == 302
    assert client.post("/auth/logout").status_code == 302
    assert not is_signed_in(client)
    login = client.post(
        "/auth/login", data={"email": viewer.email, "password": "viewer-new-secret"}
    )
    assert login.status_code == 302


def test_viewer_post_over_htmx_gets_a_message_for_the_flash_area(client, login_as, make_partner):
    partner = make_partner(name="Kept Name")
    login_as("viewer")

    response = client.post(
        f"/partners/{partner.id}/fields/name", data={"value": "Changed"}, headers=HTMX
    )

    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert FORBIDDEN in body
    assert response.headers["HX-Retarget"] == "#flash-area"
    assert committed_row(Partner, partner.id)["name"] == "Kept Name"


# --- partners of other managers ----------------------------------------------------------


@pytest.fixture
def two_managers(make_user, make_partner):
    """Anna and Boris, each responsible for one partner."""
    anna = make_user("manager", name="Anna")
    boris = make_user("manager", name="Boris")
    mine = make_partner(name="Annas Client", responsible=anna)
    theirs = make_partner(
        name="Boris Client", responsible=boris, emails=["boris.client@example.com"]
    )
    return anna, boris, mine, theirs


def test_manager_cannot_open_or_change_another_managers_partner(client, login_as, two_managers):
    anna, _, mine, theirs = two_managers
    login_as(anna)
    details_before = committed_count(ContactDetail)
    before = committed_row(Partner, theirs.id)
    p = theirs.id

    attempts = [
        ("GET", f"/partners/{p}", None),
        ("GET", f"/partners/{p}?tab=contacts", None),
        ("GET", f"/partners/{p}/edit", None),
        ("POST", f"/partners/{p}/edit", {"name": "Hijacked", "kind": "company", "roles": "client"}),
        ("GET", f"/partners/{p}/fields/name", None),
        ("GET", f"/partners/{p}/fields/name?edit=1", None),
        ("POST", f"/partners/{p}/fields/name", {"value": "Hijacked"}),
        ("GET", f"/partners/{p}/merge", None),
        ("POST", f"/partners/{p}/merge", {"other": str(mine.id), "pick_name": "other"}),
        ("GET", f"/partners/{p}/persons/new", None),
        ("POST", f"/partners/{p}/persons/new", {"name": "Intruder"}),
        ("POST", f"/partners/{p}/details", {"kind": "email", "value": "spy@example.com"}),
    ]
    for method, url, data in attempts:
        response = client.open(url, method=method, data=data)
        assert response.status_code == 403, f"{method} {url}"
        assert "Boris Client" not in response.get_data(as_text=True), f"{method} {url}"

    assert committed_row(Partner, theirs.id) == before
    assert committed_count(ContactDetail) == details_before
    assert committed_count(ContactPerson) == 0


def test_manager_cannot_merge_another_managers_partner_into_his_own(client, login_as, two_managers):
    anna, _, mine, theirs = two_managers
    login_as(anna)

    assert client.get(f"/partners/{mine.id}/merge?other={theirs.id}").status_code == 403
    response = client.post(
        f"/partners/{mine.id}/merge", data={"other": str(theirs.id), "pick_name": "other"}
    )

    assert response.status_code == 403
    assert committed_row(Partner, theirs.id)["merged_into_id"] is None
    assert committed_row(Partner, mine.id)["name"] == "Annas Client"


def test_manager_opens_and_edits_his_own_partner(client, login_as, two_managers):
    anna, _, mine, _ = two_managers
    login_as(anna)

    detail = client.get(f"/partners/{mine.id}")
    assert detail.status_code == 200
    assert "Annas Client" in detail.get_data(as_text=True)
    assert client.get(f"/partners/{mine.id}/edit").status_code == 200
    assert client.get(f"/partners/{mine.id}/merge").status_code == 200
    saved = client.post(f"/partners/{mine.id}/fields/name", data={"value": "Annas Best Client"})
    assert saved.status_code == 302
    assert committed_row(Partner, mine.id)["name"] == "Annas Best Client"


def test_manager_partner_list_shows_only_his_partners(client, login_as, two_managers):
    anna, *_ = two_managers
    login_as(anna)

    page = client.get("/partners/").get_data(as_text=True)

    assert "Annas Client" in page
    assert "Boris Client" not in page


def test_admin_opens_and_edits_any_partner(client, login_as, two_managers):
    _, _, mine, theirs = two_managers
    login_as("admin")

    listing = client.get("/partners/").get_data(as_text=True)
    assert "Annas Client" in listing and "Boris Client" in listing
    for partner in (mine, theirs):
        assert client.get(f"/partners/{partner.id}").status_code == 200
        assert client.get(f"/partners/{partner.id}/edit").status_code == 200
    saved = client.post(f"/partners/{theirs.id}/fields/city", data={"value": "Kazan"})
    assert saved.status_code == 302
    assert committed_row(Partner, theirs.id)["city"] == "Kazan"


def test_managers_see_all_setting_lets_a_manager_open_and_edit_others_partners(
    app, client, login_as, two_managers
):
    app.config["MANAGERS_SEE_ALL_PARTNERS"] = True
    anna, _, _, theirs = two_managers
    login_as(anna)

    assert "Boris Client" in client.get("/partners/").get_data(as_text=True)
    assert client.get(f"/partners/{theirs.id}").status_code == 200
    assert client.get(f"/partners/{theirs.id}/edit").status_code == 200
    saved = client.post(f"/partners/{theirs.id}/fields/city", data={"value": "Kazan"})
    assert saved.status_code == 302
    assert committed_row(Partner, theirs.id)["city"] == "Kazan"


@pytest.mark.parametrize("role", ["marketer", "viewer"])
def test_marketer_and_viewer_read_partners_but_cannot_edit(client, login_as, two_managers, role):
    _, _, mine, theirs = two_managers
    login_as(role)
    before = committed_row(Partner, theirs.id)

    listing = client.get("/partners/").get_data(as_text=True)
    assert "Annas Client" in listing and "Boris Client" in listing
    detail = client.get(f"/partners/{theirs.id}")
    assert detail.status_code == 200
    assert "Boris Client" in detail.get_data(as_text=True)
    assert f"/partners/{theirs.id}/edit" not in detail.get_data(as_text=True)
    assert client.get(f"/partners/{theirs.id}/edit").status_code == 403
    assert client.get(f"/partners/{theirs.id}/fields/name?edit=1").status_code == 403
    assert client.get(f"/partners/{theirs.id}/merge").status_code == 403
    assert client.get("/partners/new").status_code == 403
    saved = client.post(f"/partners/{theirs.id}/fields/name", data={"value": "Changed"})
    assert saved.status_code == 403
    assert committed_row(Partner, theirs.id) == before


# --- error pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("signed_in", [True, False])
def test_unknown_url_shows_404_page_with_the_layout(client, login_as, signed_in):
    if signed_in:
        login_as("manager")

    response = client.get("/no/such/page")

    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "<html" in page
    assert "There is no such page or record." in page
    assert "· CRM</title>" in page
    assert ("Sign out" in page) is signed_in


def test_unknown_partner_shows_404_page(client, login_as):
    login_as("admin")

    response = client.get("/partners/999999")

    assert response.status_code == 404
    assert "There is no such page or record." in response.get_data(as_text=True)


def test_htmx_request_to_forbidden_target_gets_a_fragment_for_the_flash_area(
    client, login_as, two_managers
):
    anna, _, _, theirs = two_managers
    login_as(anna)

    response = client.get(f"/partners/{theirs.id}?tab=contacts", headers=HTMX)

    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert FORBIDDEN in body
    assert "Boris Client" not in body
    assert response.headers["HX-Retarget"] == "#flash-area"


def test_htmx_404_also_goes_to_the_flash_area(client, login_as):
    login_as("manager")

    response = client.get("/partners/999999", headers=HTMX)

    assert response.status_code == 404
    assert "<html" not in response.get_data(as_text=True)
    assert response.headers["HX-Retarget"] == "#flash-area"
