"""Sales documents with their lines through the API: one document is the import's rows of one
doc_no; its total follows its lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from crm.partners.models import Partner
from crm.sales.models import Organization, Product, SalesDocument, SalesLine
from tests.api.helpers import import_errors, make_document, make_product, stored
from tests.auth.helpers import committed_count

DOC = {
    "doc_no": "INV-1",
    "date": "2024-03-01",
    "partner_code": "P1",
    "organization": "Org A",
    "warehouse": "Main",
    "due_date": "15.03.2024",
    "lines": [
        {"sku": "S1", "quantity": 2, "amount": "200.00", "cost": "150"},
        {"sku": "S2", "quantity": "1,5", "amount": 45.3},
    ],
}


def doc_lines() -> list[tuple]:
    return stored(
        select(
            SalesDocument.doc_no,
            SalesLine.line_no,
            Product.sku,
            SalesLine.quantity,
            SalesLine.amount,
            SalesLine.cost,
            SalesLine.date,
        )
        .join(SalesLine.document)
        .join(Product)
        .order_by(SalesDocument.doc_no, SalesLine.line_no)
    )


def doc_totals() -> list[tuple]:
    return stored(select(SalesDocument.doc_no, SalesDocument.total).order_by(SalesDocument.doc_no))


def setup_catalog(make_partner, **partner):
    partner = make_partner(name="Acme", code="P1", **partner)
    return partner, make_product("S1", "Widget"), make_product("S2", "Gadget")


def test_create_document_with_lines_sets_its_total(api, make_partner):
    partner, *_ = setup_catalog(make_partner)

    response = api("admin").post("/api/v1/sales-documents", json=DOC)

    assert response.status_code == 201
    assert response.headers["Location"].endswith("/api/v1/sales-documents/INV-1")
    assert response.get_json() == {
        "doc_no": "INV-1",
        "date": "2024-03-01",
        "partner_code": "P1",
        "organization": "Org A",
        "department": None,
        "warehouse": "Main",
        "manager": None,
        "due_date": "2024-03-15",
        "status": "shipped",
        "total": "245.30",
        "lines": [
            {"line_no": 1, "sku": "S1", "quantity": "2.000", "amount": "200.00", "cost": "150.00"},
            {"line_no": 2, "sku": "S2", "quantity": "1.500", "amount": "45.30", "cost": None},
        ],
    }
    assert doc_lines() == [
        (
            "INV-1",
            1,
            "S1",
            Decimal("2.000"),
            Decimal("200.00"),
            Decimal("150.00"),
            date(2024, 3, 1),
        ),
        ("INV-1", 2, "S2", Decimal("1.500"), Decimal("45.30"), None, date(2024, 3, 1)),
    ]
    assert doc_totals() == [("INV-1", Decimal("245.30"))]
    assert stored(select(SalesDocument.partner_id, SalesDocument.due_date)) == [
        (partner.id, date(2024, 3, 15))
    ]
    assert stored(select(Organization.name)) == [("Org A",)]


def test_due_date_defaults_to_the_document_date_and_returns_are_negative(api, make_partner):
    setup_catalog(make_partner)
    body = {
        "doc_no": "RET-1",
        "date": "2024-04-02",
        "partner_code": "P1",
        "lines": [{"sku": "S1", "quantity": -1, "amount": "-100.00"}],
    }

    item = api("admin").post("/api/v1/sales-documents", json=body).get_json()

    assert (item["due_date"], item["total"]) == ("2024-04-02", "-100.00")
    assert doc_totals() == [("RET-1", Decimal("-100.00"))]


def test_get_document_shows_lines_in_order(api, make_partner):
    partner, s1, s2 = setup_catalog(make_partner)
    make_document(
        "D-7",
        partner,
        [(s2, "3", "30.00", "20.00"), (s1, "1", "9.99", None)],
        day=date(2024, 1, 10),
        due=date(2024, 2, 10),
    )

    response = api("viewer").get("/api/v1/sales-documents/D-7")

    assert response.get_json() == {
        "doc_no": "D-7",
        "date": "2024-01-10",
        "partner_code": "P1",
        "organization": None,
        "department": None,
        "warehouse": None,
        "manager": None,
        "due_date": "2024-02-10",
        "status": "shipped",
        "total": "39.99",
        "lines": [
            {"line_no": 1, "sku": "S2", "quantity": "3.000", "amount": "30.00", "cost": "20.00"},
            {"line_no": 2, "sku": "S1", "quantity": "1.000", "amount": "9.99", "cost": None},
        ],
    }


def test_patch_of_header_fields_keeps_the_lines(api, make_partner):
    partner, s1, s2 = setup_catalog(make_partner)
    make_partner(name="Beta", code="P2")
    make_document("D1", partner, [(s1, "1", "10.00", None), (s2, "2", "20.00", None)])

    item = (
        api("admin")
        .patch("/api/v1/sales-documents/D1", json={"due_date": "2024-05-01", "partner_code": "P2"})
        .get_json()
    )

    assert (item["due_date"], item["partner_code"], item["total"]) == ("2024-05-01", "P2", "30.00")
    assert [line["amount"] for line in item["lines"]] == ["10.00", "20.00"]
    # The lines follow their document's partner (analytics read it from the lines).
    p2 = stored(select(Partner.id).where(Partner.code == "P2"))[0][0]
    assert stored(select(SalesLine.partner_id)) == [(p2,), (p2,)]


def test_patch_with_lines_replaces_the_lines_and_updates_the_total(api, make_partner):
    partner, s1, s2 = setup_catalog(make_partner)
    make_document(
        "D1",
        partner,
        [(s1, "1", "10.00", None), (s2, "2", "20.00", None), (s1, "3", "30.00", None)],
    )
    assert doc_totals() == [("D1", Decimal("60.00"))]

    response = api("admin").patch(
        "/api/v1/sales-documents/D1",
        json={
            "lines": [
                {"line_no": 1, "sku": "S1", "quantity": 1, "amount": "10.00"},
                {"line_no": 2, "sku": "S2", "quantity": 4, "amount": "44.40"},
            ]
        },
    )

    assert response.status_code == 200
    assert response.get_json()["total"] == "54.40"
    assert [(n, sku, q, a) for _, n, sku, q, a, _, _ in doc_lines()] == [
        (1, "S1", Decimal("1.000"), Decimal("10.00")),
        (2, "S2", Decimal("4.000"), Decimal("44.40")),
    ]
    assert doc_totals() == [("D1", Decimal("54.40"))]


def test_new_document_with_a_bad_line_names_the_line(api, make_partner, tmp_path):
    setup_catalog(make_partner)
    body = {**DOC, "lines": [DOC["lines"][0], {"sku": "NOPE", "quantity": "two", "amount": 1}]}

    response = api("admin").post("/api/v1/sales-documents", json=body)

    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "lines[1].quantity", "message": "'two' is not a number"},
        {"field": "lines[1].sku", "message": "unknown product 'NOPE'"},
    ]
    header = ["doc_no", "date", "partner_code", "sku", "quantity", "amount"]
    assert import_errors(
        tmp_path, "sales", header, ["X", "2024-03-01", "P1", "NOPE", "two", "1"]
    ) == [
        "row 2, column quantity: 'two' is not a number",
        "row 2, column sku: unknown product 'NOPE'",
    ]
    assert committed_count(SalesDocument) == 0 and committed_count(SalesLine) == 0


def test_document_field_errors_are_named_once(api, make_partner):
    setup_catalog(make_partner)
    body = {**DOC, "date": "2024-13-01", "partner_code": "NOPE"}

    response = api("admin").post("/api/v1/sales-documents", json=body)

    assert response.get_json()["errors"] == [
        {"field": "date", "message": "'2024-13-01' is not a real date"},
        {"field": "partner_code", "message": "unknown partner 'NOPE'"},
    ]


def test_document_needs_lines_and_lines_need_their_fields(api, make_partner):
    setup_catalog(make_partner)
    client = api("admin")
    head = {k: v for k, v in DOC.items() if k != "lines"}

    no_lines = client.post("/api/v1/sales-documents", json=head)
    empty = client.post("/api/v1/sales-documents", json={**head, "lines": []})
    odd = client.post(
        "/api/v1/sales-documents", json={**head, "lines": ["S1", {"sku": "S1", "price": 3}]}
    )

    assert no_lines.get_json()["errors"] == [{"field": "lines", "message": "is required"}]
    assert empty.get_json()["errors"] == [
        {"field": "lines", "message": "must be a list of at least one line"}
    ]
    assert odd.get_json()["errors"] == [
        {"field": "lines[0]", "message": "must be an object"},
        {"field": "lines[1].price", "message": "is not a field of a line"},
    ]
    assert committed_count(SalesDocument) == 0


def test_repeated_line_number_is_refused(api, make_partner):
    setup_catalog(make_partner)
    lines = [
        {"line_no": 1, "sku": "S1", "quantity": 1, "amount": 1},
        {"line_no": 1, "sku": "S2", "quantity": 1, "amount": 1},
    ]

    response = api("admin").post("/api/v1/sales-documents", json={**DOC, "lines": lines})

    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "lines[1].line_no", "message": "is on an earlier line of the document too"}
    ]


def test_existing_document_number_is_a_409(api, make_partner):
    partner, s1, _ = setup_catalog(make_partner)
    make_document("INV-1", partner, [(s1, "1", "10.00", None)])

    response = api("admin").post("/api/v1/sales-documents", json=DOC)

    assert response.status_code == 409
    assert doc_totals() == [("INV-1", Decimal("10.00"))]


def test_refused_patch_changes_no_line(api, make_partner):
    partner, s1, s2 = setup_catalog(make_partner)
    make_document("D1", partner, [(s1, "1", "10.00", None), (s2, "2", "20.00", None)])
    before = doc_lines()

    response = api("admin").patch(
        "/api/v1/sales-documents/D1",
        json={"lines": [{"sku": "S1", "quantity": 1, "amount": "oops"}]},
    )

    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "lines[0].amount", "message": "'oops' is not a number"}
    ]
    assert doc_lines() == before
    assert doc_totals() == [("D1", Decimal("30.00"))]


def test_list_documents_with_lines_by_partner(api, make_partner):
    partner, s1, s2 = setup_catalog(make_partner)
    other = make_partner(name="Beta", code="P2")
    make_document("D2", partner, [(s1, "1", "10.00", None)])
    make_document("D1", other, [(s2, "1", "5.00", None), (s1, "1", "6.00", None)])
    client = api("viewer")

    listing = client.get("/api/v1/sales-documents").get_json()
    assert [(d["doc_no"], d["total"], len(d["lines"])) for d in listing["items"]] == [
        ("D1", "11.00", 2),
        ("D2", "10.00", 1),
    ]
    p1 = client.get("/api/v1/sales-documents?partner_code=P1").get_json()
    assert [d["doc_no"] for d in p1["items"]] == ["D2"]
