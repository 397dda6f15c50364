"""The site's root address leads somewhere useful."""


def test_root_is_my_day_for_a_signed_in_user(client, login_as):
    login_as("manager")

    response = client.get("/")

    assert response.status_code == 200
    assert ">My day<" in response.get_data(as_text=True)


def test_root_sends_an_anonymous_visitor_to_sign_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert "/auth/login" in response.location


def test_error_page_and_logo_lead_to_the_start_page_not_to_a_domain(client, login_as):
    login_as("manager")

    body = client.get("/partners/999999999").get_data(as_text=True)

    assert 'href="/">Back to the start page</a>' in body
    assert 'class="navbar-brand" href="/"' in body
    assert 'href="/partners/">Back' not in body


def test_the_site_has_an_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.location.endswith("/static/favicon.svg")
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    page = client.get("/auth/login").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
