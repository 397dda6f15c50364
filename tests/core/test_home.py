"""The site's root address leads somewhere useful."""


def test_root_sends_a_signed_in_user_to_the_partner_list(client, login_as):
    login_as("manager")

    response = client.get("/")

    assert response.status_code == 302
    assert response.location.endswith("/partners/")


def test_root_sends_an_anonymous_visitor_to_sign_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert "/auth/login" in response.location
