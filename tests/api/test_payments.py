"""Payments through the API: only added, each read by its id."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from crm.sales.models import Payment
from tests.api.helpers import import_errors, make_payment, stored
from tests.auth.helpers import committed_count


def test_create_payment_answers_with_its_id(api, make_partner):
    partner = make_partner(name="Acme", code="P1")

    response = api("admin").post(
        "/api/v1/payments",
        json={"date": "05.03.2024", "partner_code": "P1", "amount": "1 000,10", "doc_no": "INV-1"},
    )

    assert response.status_code == 201
    payment_id = stored(select(Payment.id))[0][0]
    assert response.headers["Location"].endswith(f"/api/v1/payments/{payment_id}")
    assert response.get_json() == {
        "id": payment_id,
        "date": "2024-03-05",
        "partner_code": "P1",
        "amount": "1000.10",
        "doc_no": "INV-1",
    }
    assert stored(select(Payment.date, Payment.partner_id, Payment.amount, Payment.doc_no)) == [
        (date(2024, 3, 5), partner.id, Decimal("1000.10"), "INV-1")
    ]


def test_the_same_payment_twice_is_a_409_and_stored_once(api, make_partner):
    make_partner(name="Acme", code="P1")
    client = api("admin")
    body = {"date": "2024-03-05", "partner_code": "P1", "amount": 500}

    first = client.post("/api/v1/payments", json=body)
    again = client.post("/api/v1/payments", json={**body, "amount": "500.00"})

    assert first.status_code == 201
    assert again.status_code == 409
    assert again.get_json() == {
        "error": "This payment is recorded already (the same date, "
        "partner_code, amount and doc_no): id 1."
    }
    assert committed_count(Payment) == 1


def test_payments_are_never_changed(api, make_partner):
    payment = make_payment(make_partner(name="Acme", code="P1"), "100.00")

    response = api("admin").patch(f"/api/v1/payments/{payment.id}", json={"amount": "1"})

    assert response.status_code == 405
    assert stored(select(Payment.amount)) == [(Decimal("100.00"),)]


def test_get_and_list_payments_in_arrival_order(api, make_partner):
    acme, beta = make_partner(name="Acme", code="P1"), make_partner(name="Beta", code="P2")
    late = make_payment(acme, "10.00", day=date(2024, 5, 1), doc_no="D9")
    make_payment(beta, "20.00", day=date(2024, 1, 1))
    make_payment(acme, "30.00", day=date(2024, 2, 1))
    client = api("viewer")

    assert client.get(f"/api/v1/payments/{late.id}").get_json() == {
        "id": late.id,
        "date": "2024-05-01",
        "partner_code": "P1",
        "amount": "10.00",
        "doc_no": "D9",
    }
    listing = client.get("/api/v1/payments").get_json()["items"]
    assert [(p["partner_code"], p["amount"]) for p in listing] == [
        ("P1", "10.00"),
        ("P2", "20.00"),
        ("P1", "30.00"),
    ]
    acme_only = client.get("/api/v1/payments?partner_code=P1&date=2024-02-01").get_json()
    assert [p["amount"] for p in acme_only["items"]] == ["30.00"]
    assert client.get("/api/v1/payments?date=2024-02-30").status_code == 400
    assert client.get("/api/v1/payments/999").status_code == 404


def test_zero_payment_and_unknown_partner_get_the_imports_messages(api, make_partner, tmp_path):
    make_partner(name="Acme", code="P1")
    client = api("admin")

    zero = client.post(
        "/api/v1/payments", json={"date": "2024-03-05", "partner_code": "P1", "amount": "0"}
    )
    nobody = client.post(
        "/api/v1/payments", json={"date": "2024-03-05", "partner_code": "X", "amount": 1}
    )

    assert zero.get_json()["errors"] == [
        {"field": "amount", "message": "a payment of 0 is not a payment"}
    ]
    assert nobody.get_json()["errors"] == [
        {"field": "partner_code", "message": "unknown partner 'X'"}
    ]
    header = ["date", "partner_code", "amount"]
    assert import_errors(tmp_path, "payments", header, ["2024-03-05", "P1", "0"]) == [
        "row 2, column amount: a payment of 0 is not a payment"
    ]
    assert committed_count(Payment) == 0
