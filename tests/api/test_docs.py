"""The API documentation page: signed-in users read it in their language (drawn from the
OpenAPI document: every endpoint, its parameters, request and response schemas), anonymous
users are sent to sign in, the page runs no inline script or style, and the JSON document
itself still needs a token."""

from __future__ import annotations

import html
import re

import pytest


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("role", ["viewer", "manager", "admin"])
def test_signed_in_users_read_the_endpoints(client, login_as, role):
    login_as(role, locale="en")

    response = client.get("/api-docs/")

    assert response.status_code == 200
    page = text_of(response)
    assert '<h1 class="h3">API documentation</h1>' in page
    # Endpoints of the API, each with its method (written here, not read from the document).
    for method, path in [
        ("GET", "/api/v1/partners"),
        ("POST", "/api/v1/partners"),
        ("GET", "/api/v1/partners/{code}"),
        ("PATCH", "/api/v1/partners/{code}"),
        ("GET", "/api/v1/openapi.json"),
    ]:
        assert re.search(
            rf'api-method">{method}</span>\s*<code class="api-path text-break">{re.escape(path)}</code>',
            page,
        ), (method, path)
    # Parameters, a request body and response schemas linked to their tables.
    assert "<code>per_page</code>" in page
    assert '<a href="#schema-PartnerCreate"><code>PartnerCreate</code></a>' in page
    assert 'id="schema-PartnerCreate"' in page and 'id="schema-ValidationErrors"' in page
    # Signing in.
    assert "Authorization: Bearer &lt;token&gt;" in response.get_data(as_text=True)


def test_page_in_russian_says_the_descriptions_and_errors_stay_english(client, login_as):
    login_as("manager", locale="ru")

    page = text_of(client.get("/api-docs/"))

    assert '<h1 class="h3">Документация API</h1>' in page
    assert "Методы" in page and "Параметры" in page and "Ответы" in page and "Схемы" in page
    assert "как и сообщения об ошибках API" in page
    assert '<td data-label="Обязательно">да</td>' in page


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get("/api-docs/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_page_has_no_inline_script_or_style_and_the_csp_header(client, login_as):
    login_as("viewer")

    response = client.get("/api-docs/")

    page = response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert "<style" not in page and " style=" not in page
    assert "//cdn" not in page and "https://" not in page.split("<body", 1)[1].split("curl", 1)[0]


def test_the_json_document_still_needs_a_token(client, login_as):
    login_as("admin")  # a session cookie does not sign an API call

    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 401
    assert response.get_json()["error"]


def test_account_page_links_to_the_documentation(client, login_as):
    login_as("viewer", locale="en")

    page = client.get("/auth/account").get_data(as_text=True)

    assert '<a href="/api-docs/">Read the API documentation</a>' in page


def test_the_documents_light_markdown_is_drawn_and_everything_else_escaped():
    from crm.api.docs import blocks, inline

    assert str(inline("<b>`x<y`</b> **bold** `a`")) == (
        "&lt;b&gt;<code>x&lt;y</code>&lt;/b&gt; <strong>bold</strong> <code>a</code>"
    )
    assert [
        (kind, [str(p) for p in parts]) for kind, parts in blocks("One\nline.\n\n* a\n* **b**\n  c")
    ] == [
        ("p", ["One line."]),
        ("ul", ["a", "<strong>b</strong> c"]),
    ]


def test_descriptions_with_code_are_drawn_as_code(client, login_as):
    login_as("viewer", locale="en")

    page = client.get("/api-docs/").get_data(as_text=True)

    # ValidationErrors.errors[].field: "The field (`lines[0].sku` for a line's) ..."
    assert "<code>lines[0].sku</code>" in page
    assert "`" not in page.split('id="api-schemas"', 1)[1]
