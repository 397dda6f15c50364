"""Ids, pages, numbers, dates and money beyond what the database holds get a clear 4xx and
change nothing: the examples of issue 8 point 9, and a crawl of the main forms and API writes
with out-of-range values."""

from __future__ import annotations

import hashlib
import html
import json
import secrets
from datetime import datetime

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.interactions.models import Interaction
from crm.partners.models import ContactPerson, Partner
from crm.sales.models import Payment, SalesLine
from tests.factories import create_interaction, create_product

HUGE = "99999999999999999999"
OUT_OF_RANGE = [
    HUGE,
    "2147483648",
    "-" + HUGE,
    "²",
    "1e308",
    "NaN",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "0001-01-01",
    "9999-12-31",
    "\x00",
]


def count(model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def bearer(user) -> dict:
    from crm.auth.models import ApiToken

    token = "crm_" + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(
            user_id=user.id,
            name="t",
            prefix=token[:12],
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
        )
    )
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def post_json(client, url, headers, body):
    return client.post(url, headers=headers, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def desk(app, login_as, make_user, make_partner):
    """An admin signed in (Moscow time), a manager's partner with a person, an interaction."""
    admin = login_as("admin", timezone="Europe/Moscow")
    manager = make_user("manager")
    partner = make_partner("Ромашка", responsible=manager, code="P-1", persons=[{"name": "Иван"}])
    interaction = create_interaction(manager, partner=partner, starts_at=datetime(2026, 3, 2, 9))
    return {"admin": admin, "manager": manager, "partner": partner, "interaction": interaction}


# --- ids in URLs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/partners/99999999999999999999",
        "/partners/2147483648/edit",
        "/interactions/99999999999999999999",
        "/interactions/99999999999999999999.ics",
        "/auth/users/99999999999999999999",
        "/exchange/99999999999999999999",
        "/sales/partners/99999999999999999999/purchases-chart",
    ],
)
def test_an_id_beyond_the_database_integer_is_a_404(client, desk, path):
    assert client.get(path).status_code == 404


def test_an_api_id_beyond_the_database_integer_is_a_json_404(client, desk):
    response = client.get(f"/api/v1/payments/{HUGE}", headers=bearer(desk["admin"]))
    assert response.status_code == 404
    assert response.get_json()["error"] == "There is no such page or record."


def test_a_nul_in_a_key_of_the_url_is_a_404(client, desk):
    response = client.get("/api/v1/partners/P%00-1", headers=bearer(desk["admin"]))
    assert response.status_code == 404


def test_a_post_to_an_id_beyond_the_integer_is_a_404_and_changes_nothing(client, desk):
    response = client.post(f"/interactions/{HUGE}/delete")
    assert response.status_code == 404
    assert count(Interaction) == 1


# --- list filters ---------------------------------------------------------------------------


def test_a_non_ascii_digit_as_partner_is_ignored_with_a_message(client, desk):
    response = client.get("/interactions/", query_string={"partner": "²"})
    assert response.status_code == 200
    assert "Unknown partner ignored." in page_text(response)
    assert "Interaction" in page_text(response)  # the list is shown, unfiltered
    for path in ("/interactions/new", "/interactions/log", "/interactions/contact-options"):
        assert client.get(path, query_string={"partner_id": "²"}).status_code == 200
        assert client.get(path, query_string={"partner_id": HUGE}).status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"to": "9999-12-31"}, "The end date must be between 1900-01-01 and 2999-12-31; ignored."),
        (
            {"from": "0001-01-01"},
            "The start date must be between 1900-01-01 and 2999-12-31; ignored.",
        ),
    ],
)
def test_a_date_beyond_the_years_kept_is_ignored_with_a_message(client, desk, args, message):
    response = client.get("/interactions/", query_string=args)
    assert response.status_code == 200
    assert message in page_text(response)


def test_receivables_as_of_a_far_date_show_today_with_a_message(client, desk):
    response = client.get("/sales/receivables", query_string={"as_of": "9999-12-31"})
    assert response.status_code == 200
    assert "The as-of date must be between 1900-01-01 and 2999-12-31: showing today." in page_text(
        response
    )


def test_a_page_beyond_the_last_shows_the_last_page(client, desk, make_partner):
    for n in range(3):
        make_partner(f"Partner {n}")
    response = client.get("/partners/", query_string={"page": "99999"})
    assert response.status_code == 200
    assert "Partner 2" in page_text(response)


@pytest.mark.parametrize(
    "path", ["/partners/", "/interactions/", "/notifications/", "/sales/receivables"]
)
@pytest.mark.parametrize("page", [HUGE, "100000", "²"])
def test_any_page_number_answers_a_page(client, desk, path, page):
    assert client.get(path, query_string={"page": page}).status_code == 200


def test_api_page_beyond_the_integer_is_a_400_and_a_far_page_is_empty(client, desk):
    headers = bearer(desk["admin"])
    response = client.get(f"/api/v1/partners?page={HUGE}", headers=headers)
    assert response.status_code == 400
    assert "page must be a whole number of 1 or more" in response.get_json()["error"]
    far = client.get("/api/v1/partners?page=2147483647&per_page=500", headers=headers)
    assert far.status_code == 200
    assert (far.get_json()["items"], far.get_json()["total"]) == ([], 1)


def test_api_filter_with_a_nul_is_a_400(client, desk):
    response = client.get("/api/v1/payments?partner_code=P%00-1", headers=bearer(desk["admin"]))
    assert response.status_code == 400
    assert response.get_json()["error"] == "Filter partner_code: The text contains a NUL character."


# --- forms ----------------------------------------------------------------------------------


def interaction_form(**changes) -> dict:
    data = {
        "kind": "call",
        "status": "completed",
        "direction": "outgoing",
        "contact_text": "Someone",
        "starts_at": "2026-11-30T10:00",
        "duration_minutes": "5",
        "remind_minutes": "15",
    }
    return {**data, **changes}


def test_a_start_far_in_the_past_is_a_field_error_not_a_500(client, desk):
    response = client.post("/interactions/new", data=interaction_form(starts_at="0001-01-01T00:00"))
    assert response.status_code == 422
    assert "'0001-01-01' must be between 1900-01-01 and 2999-12-31" in page_text(response)
    assert count(Interaction) == 1


def test_a_duration_beyond_the_integer_is_a_field_error(client, desk):
    response = client.post("/interactions/new", data=interaction_form(duration_minutes=HUGE))
    assert response.status_code == 422
    assert count(Interaction) == 1


def test_a_birthday_far_in_the_future_is_a_field_error(client, desk):
    partner = desk["partner"]
    response = client.post(
        f"/partners/{partner.id}/persons/new", data={"name": "Пётр", "birthday": "9999-12-31"}
    )
    assert response.status_code == 422
    assert "Birthday must be between 1 Jan 1900 and 31 Dec 2999." in page_text(response)
    assert count(ContactPerson) == 1


def test_defer_to_year_one_is_refused_and_changes_nothing(client, desk):
    i = desk["interaction"]
    response = client.post(f"/interactions/{i.id}/defer", data={"until": "0001-01-01T00:00"})
    assert response.status_code < 500
    db.session.expire_all()
    assert db.session.get(Interaction, i.id).starts_at == datetime(2026, 3, 2, 9)


# Each form posted with each out-of-range value in each of its number, id and date fields.
FORMS = {
    "partner": (
        "/partners/new",
        {"name": "Новый", "kind": "company", "roles": "client"},
        ["responsible_id", "created_on"],
        Partner,
    ),
    "contact person": (
        "/partners/{partner}/persons/new",
        {"name": "Пётр"},
        ["birthday"],
        ContactPerson,
    ),
    "interaction": (
        "/interactions/new",
        interaction_form(),
        [
            "starts_at",
            "follow_up_at",
            "duration_minutes",
            "remind_minutes",
            "responsible_id",
            "partner_id",
            "contact_person_id",
            "subject_id",
            "parent_id",
            "participants-0-user_id",
            "participants-0-contact_person_id",
        ],
        Interaction,
    ),
    "interaction edit": (
        "/interactions/{interaction}/edit",
        interaction_form(),
        ["starts_at", "follow_up_at", "duration_minutes", "partner_id"],
        None,
    ),
    "phone log": (
        "/interactions/log",
        {
            "kind": "call",
            "direction": "outgoing",
            "contact_text": "Someone",
            "starts_at": "2026-11-30T10:00",
            "next_kind": "call",
            "next_at": "2026-12-01T10:00",
        },
        ["starts_at", "next_at", "duration_minutes", "partner_id", "contact_person_id"],
        Interaction,
    ),
    "reschedule": ("/interactions/{interaction}/reschedule", {}, ["starts_at", "move_to"], None),
    "defer": ("/interactions/{interaction}/defer", {}, ["until"], None),
    "merge": ("/partners/{partner}/merge", {}, ["other"], Partner),
}


def test_forms_answer_out_of_range_values_with_a_4xx_and_write_nothing(client, desk):
    ids = {"partner": desk["partner"].id, "interaction": desk["interaction"].id}
    failures = []
    for name, (url, base, fields, model) in FORMS.items():
        url = url.format(**ids)
        for field in fields:
            for bad in OUT_OF_RANGE:
                before = count(model) if model else None
                response = client.post(url, data={**base, field: bad})
                label = f"{name} {field}={bad!r}"
                if response.status_code >= 500:
                    failures.append(f"{response.status_code} {label}")
                elif model is not None and response.status_code >= 400 and count(model) != before:
                    failures.append(f"{label}: {response.status_code} but a row was written")
    assert failures == [], "\n".join(failures)


# --- the API --------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e308", "1000000000000000.01", "-1000000000000.00"])
def test_a_payment_beyond_the_money_column_is_a_422_and_nothing_is_saved(client, desk, amount):
    body = f'{{"date": "2025-01-10", "partner_code": "P-1", "amount": {amount}}}'
    response = client.post(
        "/api/v1/payments",
        headers=bearer(desk["admin"]),
        data=body,
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "amount"
    assert (
        "is too large: the limit is ±999999999999.99" in response.get_json()["errors"][0]["message"]
    )
    assert count(Payment) == 0


def test_the_largest_amount_the_column_holds_is_saved_exactly(client, desk):
    response = post_json(
        client,
        "/api/v1/payments",
        bearer(desk["admin"]),
        {"date": "2025-01-10", "partner_code": "P-1", "amount": "999999999999.99"},
    )
    assert response.status_code == 201
    assert response.get_json()["amount"] == "999999999999.99"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("line_no", int(HUGE), "'99999999999999999999' must be between -2147483647 and 2147483647"),
        ("line_no", "2147483648", "'2147483648' must be between -2147483647 and 2147483647"),
        ("quantity", "1e308", "'1e308' is not a number"),
        ("quantity", "100000000000", "'100000000000' is too large: the limit is ±99999999999.999"),
    ],
)
def test_an_api_sales_line_out_of_range_is_a_422(client, desk, field, value, message):
    create_product(sku="SKU-1")
    line = {"line_no": 1, "sku": "SKU-1", "quantity": "1", "amount": "10.00", field: value}
    response = post_json(
        client,
        "/api/v1/sales-documents",
        bearer(desk["admin"]),
        {"doc_no": "D-1", "date": "2025-01-10", "partner_code": "P-1", "lines": [line]},
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"field": f"lines[0].{field}", "message": message}]
    assert count(SalesLine) == 0


def test_an_api_date_beyond_the_years_kept_is_a_422(client, desk):
    response = post_json(
        client,
        "/api/v1/payments",
        bearer(desk["admin"]),
        {"date": "9999-12-31", "partner_code": "P-1", "amount": "1"},
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "date", "message": "'9999-12-31' must be between 1900-01-01 and 2999-12-31"}
    ]
    assert count(Payment) == 0


def test_a_document_whose_total_overflows_its_column_is_refused(client, desk):
    create_product(sku="SKU-1")
    lines = [
        {"line_no": n, "sku": "SKU-1", "quantity": "1", "amount": "600000000000.00"} for n in (1, 2)
    ]
    response = post_json(
        client,
        "/api/v1/sales-documents",
        bearer(desk["admin"]),
        {"doc_no": "D-1", "date": "2025-01-10", "partner_code": "P-1", "lines": lines},
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {
            "field": "lines[1].amount",
            "message": "makes the document's total larger than the limit ±999999999999.99",
        }
    ]
    assert count(SalesLine) == 0


API_WRITES = {
    "/api/v1/payments": {"date": "2025-01-10", "partner_code": "P-1", "amount": "1"},
    "/api/v1/partners": {"code": "P-9", "name": "Новый", "created_on": "2025-01-01"},
    "/api/v1/products": {"sku": "SKU-9", "name": "Товар", "base_price": "1"},
    "/api/v1/stock": {"sku": "SKU-1", "warehouse": "Main", "quantity": "1", "value": "1"},
}


def test_api_writes_answer_out_of_range_values_with_a_4xx_and_save_nothing(client, desk):
    from crm.sales.models import Product, StockBalance

    create_product(sku="SKU-1")
    headers = bearer(desk["admin"])
    tables = (Payment, Partner, Product, StockBalance)
    before = [count(t) for t in tables]
    failures = []
    for url, body in API_WRITES.items():
        for field in body:
            for bad in [*OUT_OF_RANGE, int(HUGE), -(10**400)]:
                response = post_json(client, url, headers, {**body, field: bad})
                if response.status_code >= 500:
                    failures.append(f"{response.status_code} {url} {field}={bad!r}")
                if response.status_code >= 400 and [count(t) for t in tables] != before:
                    failures.append(f"{url} {field}={bad!r}: refused but a row was written")
                before = [count(t) for t in tables]
    assert failures == [], "\n".join(failures)
