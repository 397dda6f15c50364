"""Classes and stages where people work: the partner card's header and its "Classes and stages"
tab, the product card, and the list filters "ABC/XYZ class" and "Stage", all read from the
stored snapshots (rows inserted here as crm.analytics.snapshots would store them)."""

from __future__ import annotations

import html
import re
from datetime import date
from decimal import Decimal

import pytest

from crm.analytics.models import ClassSnapshot, StageSnapshot
from crm.extensions import db
from tests.factories import create_product

HX = {"HX-Request": "true"}
SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)
SEP_END, OCT_END = date(2026, 9, 30), date(2026, 10, 31)
_PARTNER = re.compile(
    r'<td data-label="Name" class="fw-semibold"><a href="/partners/\d+">(.*?)</a>'
)
_PRODUCT = re.compile(
    r'<td data-label="Name" class="fw-semibold"><a href="/sales/products/\d+">(.*?)</a>'
)


def text(response) -> str:
    return response.get_data(as_text=True)


def partners_listed(response) -> list[str]:
    return [html.unescape(n) for n in _PARTNER.findall(text(response))]


def products_listed(response) -> list[str]:
    return [html.unescape(n) for n in _PRODUCT.findall(text(response))]


def klass(of, month, object_id, abc, xyz, metric="0", cv=None):
    return ClassSnapshot(
        of=of,
        month=month,
        object_id=object_id,
        abc=abc,
        xyz=xyz,
        abc_metric=Decimal(metric),
        cv_pct=None if cv is None else Decimal(cv),
    )


def stage(at, partner_id, name, revenue="0", last=None):
    return StageSnapshot(
        at=at,
        partner_id=partner_id,
        stage=name,
        revenue_window=Decimal(revenue),
        last_purchase=last,
    )


@pytest.fixture
def world(make_user, make_partner):
    """Two snapshot months. Альфа (Мария's): BY/one-time in Sep → AX/regular-x in Oct. Бета
    (Иван's): CZ/lost in Oct. Гамма (a supplier): AX in Sep only. Дельта (a client): in no
    snapshot. Products: Молоко AY → AX, Хлеб AX in Sep only."""
    maria, ivan = make_user("manager", name="Мария"), make_user("manager", name="Иван")
    alfa = make_partner(name="Альфа", responsible=maria, is_client=True)
    beta = make_partner(name="Бета", responsible=ivan, is_client=True)
    gamma = make_partner(name="Гамма", responsible=maria, is_client=False, is_supplier=True)
    delta = make_partner(name="Дельта", responsible=maria, is_client=True)
    milk, bread = create_product(name="Молоко"), create_product(name="Хлеб")
    db.session.add_all(
        [
            klass("partners", SEP, alfa.id, "B", "Y", "5000", "62.5"),
            klass("partners", OCT, alfa.id, "A", "X", "12000.5", "21.25"),
            klass("partners", OCT, beta.id, "C", "Z", "300"),
            klass("partners", SEP, gamma.id, "A", "X", "9000", "10"),
            klass("products", SEP, milk.id, "A", "Y", "40", "12"),
            klass("products", OCT, milk.id, "A", "X", "44", "8.5"),
            klass("products", SEP, bread.id, "A", "X", "90", "3"),
            stage(SEP_END, alfa.id, "one-time", "5000", date(2026, 9, 12)),
            stage(OCT_END, alfa.id, "regular-x", "12000.50", date(2026, 10, 20)),
            stage(OCT_END, beta.id, "lost", "0", date(2025, 12, 1)),
            stage(OCT_END, delta.id, "potential"),
        ]
    )
    db.session.commit()
    return locals()


def test_partner_card_shows_latest_class_and_stage(login_as, client, world):
    login_as("viewer")
    body = text(client.get(f"/partners/{world['alfa'].id}"))
    fact = body[body.index('id="analytics-fact"') :]
    assert re.search(r'id="analytics-class"[^>]*>AX<', fact)
    assert "snapshot of October 2026" in fact
    assert re.search(r'id="analytics-stage"[^>]*>Regular X<', fact)
    assert "as of 31 Oct 2026" in html.unescape(fact)
    beta = text(client.get(f"/partners/{world['beta'].id}"))
    assert re.search(r'id="analytics-class"[^>]*>CZ<', beta)
    assert re.search(r'id="analytics-stage"[^>]*>Lost<', beta)


def test_an_older_class_is_not_shown_as_current(login_as, client, world):
    login_as("viewer")
    delta = text(client.get(f"/partners/{world['delta'].id}"))  # a client in no class snapshot
    assert re.search(r'id="analytics-class"[^>]*>not classified<', delta)
    assert re.search(r'id="analytics-stage"[^>]*>Potential<', delta)
    gamma = text(client.get(f"/partners/{world['gamma'].id}"))  # a supplier, AX in Sep only
    assert 'id="analytics-fact"' not in gamma


def test_no_snapshot_no_fact(login_as, client, make_partner):
    partner = make_partner(name="Новый", is_client=True)
    login_as("admin")
    body = text(client.get(f"/partners/{partner.id}"))
    assert 'id="partner-name-heading"' in body and 'id="analytics-fact"' not in body
    tab = text(client.get(f"/partners/{partner.id}?tab=analytics", headers=HX))
    assert 'id="analytics-history-empty"' in tab


def test_partner_tab_lists_the_monthly_history_newest_first(login_as, client, world):
    login_as("marketer")
    response = client.get(f"/partners/{world['alfa'].id}?tab=analytics", headers=HX)
    body = text(response)
    assert "<html" not in body
    rows = re.findall(r"<tr>\s*(<td data-label=\"Month\">.*?)</tr>", body, re.S)
    cells = [[html.unescape(c).strip() for c in re.findall(r">([^<>]*)</td>", r)] for r in rows]
    assert cells == [
        ["October 2026", "AX", "12,000.50", "21.2", "Regular X", "₽12,000.50", "20 Oct 2026"],
        ["September 2026", "BY", "5,000.00", "62.5", "One-time", "₽5,000.00", "12 Sep 2026"],
    ]


def test_partner_list_filters_by_latest_class_and_stage(login_as, client, world):
    login_as("admin")
    page = text(client.get("/partners/"))
    assert 'id="f-abc-xyz"' in page and 'id="f-stage"' in page
    assert partners_listed(client.get("/partners/?abc_xyz=AX")) == ["Альфа"]  # not Гамма (Sep)
    assert partners_listed(client.get("/partners/?abc_xyz=CZ")) == ["Бета"]
    assert partners_listed(client.get("/partners/?abc_xyz=BY")) == []  # Альфа's Sep class
    assert partners_listed(client.get("/partners/?stage=lost")) == ["Бета"]
    assert partners_listed(client.get("/partners/?stage=potential")) == ["Дельта"]
    assert partners_listed(client.get("/partners/?stage=regular-x&abc_xyz=AX")) == ["Альфа"]
    assert partners_listed(client.get("/partners/?stage=regular-x&abc_xyz=CZ")) == []
    fragment = client.get("/partners/?abc_xyz=CZ&q=бет", headers=HX)
    assert "<html" not in text(fragment) and partners_listed(fragment) == ["Бета"]


def test_bad_class_or_stage_is_ignored_with_a_message(login_as, client, world):
    login_as("admin")
    response = client.get("/partners/?abc_xyz=QQ&stage=asleep")
    assert response.status_code == 200
    body = html.unescape(text(response))
    assert "Unknown ABC/XYZ class 'QQ' ignored." in body
    assert "Unknown stage 'asleep' ignored." in body
    assert partners_listed(response) == ["Альфа", "Бета", "Гамма", "Дельта"]


def test_a_manager_filters_only_the_partners_he_may_see(login_as, client, world):
    login_as(world["maria"])
    assert partners_listed(client.get("/partners/?abc_xyz=CZ")) == []  # Бета is Иван's
    assert partners_listed(client.get("/partners/?abc_xyz=AX")) == ["Альфа"]
    assert client.get(f"/partners/{world['beta'].id}?tab=analytics").status_code == 403


def test_contact_report_takes_the_class_filter(login_as, client, world):
    login_as("admin")
    body = text(client.get("/partners/reports/contacts?abc_xyz=CZ"))
    assert "Бета" in body and "Альфа" not in body


def test_product_card_shows_class_and_its_history(login_as, client, world):
    login_as("viewer")
    body = text(client.get(f"/sales/products/{world['milk'].id}"))
    assert re.search(r'id="analytics-class"[^>]*>AX<', body)
    section = body[body.index('id="product-section-classes"') :]
    rows = re.findall(r"<tr>\s*(<td data-label=\"Month\">.*?)</tr>", section, re.S)
    cells = [[html.unescape(c).strip() for c in re.findall(r">([^<>]*)</td>", r)] for r in rows]
    assert cells == [
        ["October 2026", "AX", "44.00", "8.5"],
        ["September 2026", "AY", "40.00", "12.0"],
    ]
    bread = text(client.get(f"/sales/products/{world['bread'].id}"))
    assert re.search(r'id="analytics-class"[^>]*>not classified<', bread)


def test_product_list_filters_by_latest_class(login_as, client, world):
    login_as("manager")
    assert 'id="f-abc-xyz"' in text(client.get("/sales/products/"))
    assert products_listed(client.get("/sales/products/?abc_xyz=AX")) == ["Молоко"]
    assert products_listed(client.get("/sales/products/?abc_xyz=AY")) == []
    bad = client.get("/sales/products/?abc_xyz=A")
    assert "Unknown ABC/XYZ class" in html.unescape(text(bad))
    assert products_listed(bad) == ["Молоко", "Хлеб"]


def test_anonymous_is_sent_to_sign_in(client, world):
    for url in (f"/partners/{world['alfa'].id}?tab=analytics", "/sales/products/?abc_xyz=AX"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_classes_and_stages_in_russian(login_as, client, world):
    login_as("admin", locale="ru")
    card = text(client.get(f"/partners/{world['alfa'].id}"))
    assert "Класс ABC/XYZ" in card and "Регулярный X" in card and "Классы и стадии" in card
    assert "снимок за октябрь 2026" in card.lower()
    listing = text(client.get("/partners/"))
    assert "Любой класс ABC/XYZ" in listing and "Любая стадия" in listing
    assert "Потерян" in listing
    bad = html.unescape(text(client.get("/partners/?stage=asleep")))
    assert "Неизвестная стадия 'asleep' пропущена." in bad
    product = text(client.get(f"/sales/products/{world['milk'].id}"))
    assert "Класс ABC/XYZ по месяцам" in product and "Остатки по складам" in product
    assert "Артикул" in text(client.get("/sales/products/"))
