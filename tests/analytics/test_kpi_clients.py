"""The KPI dashboard's client lists (crm.analytics.kpi_clients, page analytics.kpi_clients) over
a generated history with returns, several organizations and managers: the partners of each list
and their columns against a few lines of pandas over the raw rows read back with plain SQL."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import insert, text

from crm.extensions import db
from crm.sales.summaries import rebuild

PERIODS = [
    (date(2025, 3, 1), date(2025, 3, 31)),
    (date(2025, 1, 1), date(2025, 6, 30)),
    (date(2024, 11, 15), date(2024, 12, 14)),
]


@pytest.fixture
def generated(make_user):
    from crm.partners.models import Partner
    from crm.sales.models import Department, Organization, Product, SalesDocument, SalesLine

    rng = random.Random(7)
    managers = [make_user("manager"), make_user("manager")]
    db.session.execute(insert(Organization), [{"id": 1, "name": "O1"}, {"id": 2, "name": "O2"}])
    db.session.execute(insert(Department), [{"id": 1, "name": "D1"}])
    db.session.execute(insert(Product), [{"id": 1, "sku": "S1", "name": "P1"}])
    partners = 150
    db.session.execute(
        insert(Partner),
        [
            {
                "id": i,
                "code": f"K{i:04d}",
                "name": f"Client {i}",
                "responsible_id": managers[i % 2].id if i % 5 else None,
            }
            for i in range(1, partners + 1)
        ],
    )
    docs, lines = [], []
    first_day = date(2024, 1, 1)
    for pid in range(1, partners + 1):
        for _ in range(rng.randint(0, 8)):
            n = len(docs) + 1
            day = first_day + timedelta(days=rng.randrange(600))
            amount = Decimal(rng.randint(-5000, 90000)).scaleb(-2)  # some returns, some zeros
            docs.append(
                {
                    "id": n,
                    "doc_no": f"G{n:05d}",
                    "date": day,
                    "due_date": day,
                    "partner_id": pid,
                    "organization_id": rng.choice((1, 2, None)),
                    "department_id": rng.choice((1, None)),
                    "manager_id": rng.choice(managers).id,
                    "total": amount,
                }
            )
            lines.append(
                {
                    "id": n,
                    "document_id": n,
                    "line_no": 1,
                    "date": day,
                    "partner_id": pid,
                    "product_id": 1,
                    "quantity": Decimal(1),
                    "amount": amount,
                    "cost": None,
                }
            )
    db.session.execute(insert(SalesDocument), docs)
    db.session.execute(insert(SalesLine), lines)
    db.session.commit()
    rebuild()  # the rows went around the sales services: their summaries, as those keep them
    return managers


def _raw() -> pd.DataFrame:
    rows = db.session.execute(
        text(
            "SELECT p.code, l.date, l.amount, d.organization_id, d.department_id, d.manager_id,"
            " p.responsible_id FROM sales_line l JOIN sales_document d ON d.id = l.document_id"
            " JOIN partner p ON p.id = l.partner_id"
        )
    ).all()
    frame = pd.DataFrame(
        rows, columns=["code", "date", "amount", "org", "dept", "manager", "responsible"]
    )
    frame["date"] = frame["date"].map(lambda v: date.fromisoformat(str(v)[:10]))
    frame["amount"] = frame["amount"].map(lambda v: Decimal(str(v)).quantize(Decimal("0.01")))
    return frame


def _expected(lines: pd.DataFrame, which: str, start: date, end: date) -> dict:
    """{code: (revenue in P, revenue in P0)} of the list, from the spec's definitions."""
    days = (end - start).days + 1
    p0_start, p0_end = start - timedelta(days=days), start - timedelta(days=1)
    buys = lines[lines.amount > 0]
    in_p = set(buys[(buys.date >= start) & (buys.date <= end)].code)
    in_p0 = set(buys[(buys.date >= p0_start) & (buys.date <= p0_end)].code)
    first = buys[buys.date <= end].groupby("code").date.min()
    codes = {
        "active": in_p,
        "new": set(first[first >= start].index),
        "lost": in_p0 - in_p,
        "retained": in_p0 & in_p,
    }[which]

    def revenue(code, a, b):
        own = lines[(lines.code == code) & (lines.date >= a) & (lines.date <= b)]
        return sum(own.amount, Decimal("0.00"))

    return {c: (revenue(c, start, end), revenue(c, p0_start, p0_end)) for c in codes}


def _listed(client, query: str) -> dict:
    response = client.get(f"/analytics/kpi/clients?{query}&format=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return {r[0]: (Decimal(r[5]), Decimal(r[6])) for r in rows[1:]}


@pytest.mark.parametrize("which", ["active", "new", "lost", "retained"])
def test_each_list_holds_the_partners_of_its_definition(client, login_as, generated, which):
    login_as("admin")
    lines = _raw()
    for start, end in PERIODS:
        query = f"from={start}&to={end}&which={which}"
        assert _listed(client, query) == _expected(lines, which, start, end), (start, end)


def test_lists_under_a_scope_count_only_the_documents_in_it(client, login_as, generated):
    login_as("admin")
    lines = _raw()
    m1 = generated[0]
    start, end = PERIODS[1]
    for query, rows in (
        ("organization=1", lines[lines.org == 1]),
        ("department=1", lines[lines.dept == 1]),
        (f"manager={m1.id}", lines[lines.manager == m1.id]),
    ):
        for which in ("active", "new", "lost", "retained"):
            got = _listed(client, f"from={start}&to={end}&which={which}&{query}")
            assert got == _expected(rows, which, start, end), (query, which)


def test_a_manager_lists_only_the_clients_he_is_responsible_for(client, login_as, generated):
    m1 = generated[0]
    login_as(m1)
    lines = _raw()
    start, end = PERIODS[1]
    expected = _expected(lines, "active", start, end)
    own = set(lines[lines.responsible == m1.id].code)
    got = _listed(client, f"from={start}&to={end}&which=active")
    assert got == {c: v for c, v in expected.items() if c in own}
    assert got and len(got) < len(expected)


def test_the_dashboard_counts_match_the_lists(client, login_as, generated):
    login_as("admin")
    lines = _raw()
    start, end = PERIODS[0]
    response = client.get(f"/analytics/kpi?from={start}&to={end}&format=csv")
    rows = {
        r[0]: r for r in csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    }
    for kpi, which in (
        ("active_clients", "active"),
        ("new_clients", "new"),
        ("lost_clients", "lost"),
    ):
        assert int(rows[kpi][2]) == len(_expected(lines, which, start, end)), kpi
