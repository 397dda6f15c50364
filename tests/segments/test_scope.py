"""The filter "segment" (crm.core.partner_scope, registered by segments) on the lists and
reports with a partner dimension: each narrowed to exactly the segment's members the user may
see (the shop of tests/segments/conftest.py, listed by hand there); a bad value is dropped
with a message, never a 500."""

from __future__ import annotations

import csv
import io
import re

import pytest

PARTNERS = ("P1", "P2", "P3", "P4", "P5")


def body(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def shown(text: str, keys=PARTNERS) -> set[str]:
    """The codes (or deal numbers) written as a cell of their own: `>P1<`."""
    return {k for k in keys if f">{k}<" in text}


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


# --- lists ----------------------------------------------------------------------------------


def test_partner_list_shows_only_the_segments_members(client, login_as, shop):
    login_as("admin")
    assert shown(body(client.get("/partners/"))) == set(PARTNERS)
    assert shown(body(client.get(f"/partners/?segment={shop.chosen}"))) == {"P1", "P3"}
    # A dynamic segment: its rule, evaluated now.
    assert shown(body(client.get(f"/partners/?segment={shop.moscow}"))) == {"P1", "P2"}
    # With another filter: both hold.
    both = body(client.get(f"/partners/?segment={shop.three}&city=Казань"))
    assert shown(both) == {"P3", "P5"}


def test_a_managers_narrowed_partner_list_keeps_to_his_partners(client, login_as, shop):
    login_as(shop.anna)
    assert shown(body(client.get(f"/partners/?segment={shop.chosen}"))) == {"P1"}
    login_as(shop.boris)
    assert shown(body(client.get(f"/partners/?segment={shop.three}"))) == {"P3"}


def test_the_filter_offers_the_segments_by_name(client, login_as, shop):
    login_as("admin")
    page = body(client.get(f"/partners/?segment={shop.three}"))
    select = re.search(r'<select[^>]*id="f-segment".*?</select>', page, re.S).group(0)
    names = re.findall(r"<option[^>]*>([^<]*)</option>", select)
    assert names == ["Any segment", "Избранные", "Москва", "Сломанный", "Тройка"]
    assert f'<option selected value="{shop.three}">Тройка</option>' in select
    assert 'class="form-select"' in select


def test_deal_list_and_board_show_only_the_deals_of_members(client, login_as, shop):
    login_as("admin")
    deals = ("D1", "D2", "D3", "D4", "D5")
    page = body(client.get(f"/deals/?status=all&segment={shop.chosen}"))
    assert shown(page, deals) == {"D1", "D3", "D5"}
    board = body(client.get(f"/deals/board?kind={shop.kind_id}&segment={shop.three}"))
    assert {d for d in deals if f"{d}</" in board} == {"D2", "D3"}  # D4 is lost: no card


def test_interaction_list_shows_only_those_with_members(client, login_as, shop):
    login_as("admin")
    page = body(client.get(f"/interactions/?segment={shop.chosen}"))
    assert {k for k, title in shop.interactions.items() if title in page} == {"I1", "I3"}
    # Anna's own list, narrowed: her interactions with members she may see.
    login_as(shop.anna)
    page = body(client.get(f"/interactions/?responsible=me&segment={shop.three}"))
    assert {k for k, title in shop.interactions.items() if title in page} == {"I2"}


def test_receivables_show_only_members_debts(client, login_as, shop):
    login_as("admin")
    rows = csv_rows(client.get(f"/sales/receivables?segment={shop.chosen}&format=csv&sort=code"))
    assert [(r[0], r[3]) for r in rows[1:]] == [("P1", "15000.00"), ("P3", "1200.00")]
    page = body(client.get(f"/sales/receivables?segment={shop.three}"))
    assert shown(page) == {"P2", "P3", "P5"}


# --- reports --------------------------------------------------------------------------------

ABC = "/analytics/abc-xyz?of=partners&from=2025-10-01&to=2026-09-30&format=csv"


def test_abc_xyz_of_partners_classifies_the_members_among_themselves(client, login_as, shop):
    login_as("admin")
    whole = {r[0]: r[5] + r[7] for r in csv_rows(client.get(ABC))[1:]}
    assert whole == {"P1": "AX", "P2": "BY", "P3": "BY", "P4": "BY", "P5": "CZ"}
    # Тройка: P2 900, P3 900, P5 300 of 2100 — before P3 43 %, before P5 86 %.
    rows = csv_rows(client.get(f"{ABC}&segment={shop.three}"))[1:]
    assert [(r[0], r[2], r[5] + r[7]) for r in rows] == [
        ("P2", "900.00", "AY"),
        ("P3", "900.00", "AY"),
        ("P5", "300.00", "BZ"),
    ]


def test_abc_xyz_of_products_counts_the_sales_to_members(client, login_as, shop):
    login_as("admin")
    products = "/analytics/abc-xyz?of=products&abc_by=revenue&from=2025-10-01&to=2026-09-30"
    whole = {r[0]: r[2] for r in csv_rows(client.get(f"{products}&format=csv"))[1:]}
    assert whole == {"PX": "12000.00", "PY": "3000.00"}
    rows = csv_rows(client.get(f"{products}&format=csv&segment={shop.chosen}"))[1:]
    # P1 bought PX for 12000; P3 bought PY for 900 in the window.
    assert {r[0]: r[2] for r in rows} == {"PX": "12000.00", "PY": "900.00"}


def test_bcg_counts_the_sales_to_members(client, login_as, shop):
    login_as("admin")
    query = "/analytics/bcg?from=2026-07-01&to=2026-09-30&format=csv"
    whole = {r[0]: r[3] for r in csv_rows(client.get(query))[1:]}
    assert whole == {"PX": "3000.00", "PY": "300.00"}
    rows = csv_rows(client.get(f"{query}&segment={shop.three}"))[1:]
    assert {r[0]: r[3] for r in rows} == {"PY": "300.00"}


def kpis(client, query) -> dict[str, str]:
    rows = csv_rows(client.get(f"/analytics/kpi?{query}&format=csv"))
    return {r[0]: r[2] for r in rows[1:]}


def test_kpis_of_a_segment(client, login_as, shop):
    login_as("admin")
    period = "from=2026-07-01&to=2026-09-30"
    whole = kpis(client, period)
    assert (whole["revenue"], whole["active_clients"]) == ("3300.00", "2")
    narrowed = kpis(client, f"{period}&segment={shop.three}")
    # Only P5 bought (300); P2 and P3 bought in the previous period and not in this one.
    assert (narrowed["revenue"], narrowed["active_clients"]) == ("300.00", "1")
    assert (narrowed["new_clients"], narrowed["lost_clients"]) == ("1", "2")
    # Overdue as of 30.09.2026: P2 1200 + P3 1200 + P5 300 (nothing is paid).
    assert narrowed["overdue_receivables"] == "2700.00"
    clients = csv_rows(
        client.get(f"/analytics/kpi/clients?{period}&which=lost&segment={shop.three}&format=csv")
    )
    assert sorted(r[0] for r in clients[1:]) == ["P2", "P3"]


def test_transitions_of_a_segments_clients(client, login_as, shop):
    login_as("admin")
    query = "/analytics/transitions?from_date=2026-06-30&to_date=2026-09-30&format=csv"
    whole = [r[:3] for r in csv_rows(client.get(query))[1:]]
    assert whole == [
        ["Potential", "One-time", "1"],
        ["Regular X", "Regular X", "1"],
        ["Regular X", "Regular Y", "3"],
    ]
    narrowed = [r[:3] for r in csv_rows(client.get(f"{query}&segment={shop.three}"))[1:]]
    assert narrowed == [["Potential", "One-time", "1"], ["Regular X", "Regular Y", "2"]]
    cell = client.get(
        "/analytics/transitions/cell?from_date=2026-06-30&to_date=2026-09-30"
        f"&source=regular-x&target=regular-y&segment={shop.three}&format=csv"
    )
    assert [r[0] for r in csv_rows(cell)[1:]] == ["P2", "P3"]


def test_deal_funnel_of_a_segment_and_its_drill_down_keeps_it(client, login_as, shop):
    login_as("admin")
    query = f"/deals/reports/funnel?kind={shop.kind_id}&from=2026-01-01&to=2026-12-31"
    whole = csv_rows(client.get(f"{query}&format=csv"))
    assert [r[:2] for r in whole[1:]] == [
        ["Квалификация", "5"],
        ["Предложение", "4"],
        ["Договор", "2"],
        ["Won", "0"],
    ]
    narrowed = csv_rows(client.get(f"{query}&segment={shop.chosen}&format=csv"))
    # D1 (at 2), D3 (at 1), D5 (at 3).
    assert [r[:2] for r in narrowed[1:]] == [
        ["Квалификация", "3"],
        ["Предложение", "2"],
        ["Договор", "1"],
        ["Won", "0"],
    ]
    page = body(client.get(f"{query}&segment={shop.chosen}", headers={"HX-Request": "true"}))
    assert f"segment={shop.chosen}" in re.search(r'href="(/deals/\?[^"]*reached=2[^"]*)"', page)[1]


# --- bad values -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["999999", "abc", "0", "99999999999999999999"])
def test_an_unknown_segment_is_dropped_with_a_message(client, login_as, shop, value):
    login_as("admin")
    for url in ("/partners/", "/deals/?status=all", "/sales/receivables"):
        page = body(client.get(f"{url}{'&' if '?' in url else '?'}segment={value}"))
        assert "Unknown segment ignored." in page
    assert shown(body(client.get(f"/partners/?segment={value}"))) == set(PARTNERS)


def test_a_segment_whose_rule_no_longer_compiles_is_dropped_with_a_message(client, login_as, shop):
    login_as("admin")
    page = body(client.get(f"/partners/?segment={shop.broken}"))
    assert "The segment Сломанный cannot be used as a filter" in page
    assert shown(page) == set(PARTNERS)
    # A download of other data than was asked for is refused, saying why.
    response = client.get(f"{ABC}&segment={shop.broken}")
    assert response.status_code == 400
    assert "cannot be used as a filter" in response.get_data(as_text=True)


def test_a_segments_members_also_in_another(client, login_as, shop):
    login_as("admin")
    page = body(client.get(f"/segments/{shop.three}?segment={shop.chosen}"))
    # Тройка (P2, P3, P5) and Избранные (P1, P3).
    assert shown(page) == {"P3"}
    assert "1 member found" in page
    page = body(client.get(f"/segments/{shop.three}?segment=999999"))
    assert "Unknown segment ignored." in page and shown(page) == {"P2", "P3", "P5"}


def test_a_product_segment_is_no_partner_scope(client, login_as, shop):
    from crm.extensions import db
    from crm.segments.services import create_segment

    products = create_segment(None, "Товары", "manual", of="products")
    db.session.commit()
    login_as("admin")
    page = body(client.get(f"/partners/?segment={products.id}"))
    assert "Unknown segment ignored." in page and shown(page) == set(PARTNERS)
    select = re.search(r'<select[^>]*id="f-segment".*?</select>', page, re.S).group(0)
    assert "Товары" not in select
    card = body(client.get(f"/segments/{products.id}"))
    assert 'id="f-segment"' not in card and "Save as segment" not in card
