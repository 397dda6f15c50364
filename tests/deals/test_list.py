"""The deal list: each filter of the contract on hand-built deals, the default (open) status,
sorting, pages, what each role sees, bad parameters, the HTMX fragment and the downloads.
The expected deal numbers are worked out by hand from the `desk` fixture's table."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from crm.core.timeutil import utcnow
from tests.deals.helpers import HX, listed, text


@pytest.fixture
def admin_client(client, desk, login_as):
    login_as(desk["admin"])
    return client


def numbers(client, query: str = "", fragment: bool = False) -> list[str]:
    response = client.get(f"/deals/?{query}", headers=HX if fragment else {})
    assert response.status_code == 200, text(response)[:500]
    return listed(response)


def test_default_list_shows_open_deals_newest_first(admin_client):
    assert numbers(admin_client) == ["B3", "B1", "A2", "A1"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("open", ["B3", "B1", "A2", "A1"]),
        ("won", ["A3"]),
        ("lost", ["B2"]),
        ("all", ["B3", "B1", "B2", "A2", "A3", "A1"]),
    ],
)
def test_status_filter(admin_client, status, expected):
    assert numbers(admin_client, f"status={status}") == expected


def test_kind_stage_manager_and_partner_filters(admin_client, desk):
    supply, service = desk["supply"], desk["service"]
    offer = next(s for s in supply.stages if s.name == "Offer")
    talk = next(s for s in service.stages if s.name == "Talk")
    assert numbers(admin_client, f"kind={supply.id}") == ["B3", "A2", "A1"]
    assert numbers(admin_client, f"kind={service.id}&status=all") == ["B1", "B2"]
    assert numbers(admin_client, f"stage={offer.id}") == ["A2"]
    assert numbers(admin_client, f"stage={talk.id}&status=all") == ["B2"]
    assert numbers(admin_client, f"manager={desk['boris'].id}") == ["B3", "B1"]
    assert numbers(admin_client, f"manager={desk['anna'].id}&status=all") == ["A2", "A3", "A1"]
    assert numbers(admin_client, f"partner={desk['lyutik'].id}") == ["B3", "B1"]


def test_reached_counts_won_deals_as_past_every_stage(admin_client):
    # Positions: A1 1, A2 2, A3 won, B1 2 (Quote), B2 1 (Talk), B3 3.
    assert numbers(admin_client, "reached=2&status=all") == ["B3", "B1", "A2", "A3"]
    assert numbers(admin_client, "reached=3&status=all") == ["B3", "A3"]


def test_date_filters_include_both_ends(admin_client):
    assert numbers(admin_client, "created_from=2026-02-05&created_to=2026-03-01&status=all") == [
        "B1",
        "B2",
        "A2",
    ]
    assert numbers(admin_client, "closed_from=2026-03-01&status=all") == ["B2"]
    assert numbers(admin_client, "closed_to=2026-02-10&status=all") == ["A3"]
    assert numbers(admin_client, "expected_to=2026-04-15") == ["A2", "A1"]
    assert numbers(admin_client, "expected_from=2026-05-20") == ["B3", "B1"]


def test_loss_reason_filter(admin_client, desk):
    from crm.deals.models import LossReason
    from crm.extensions import db

    price = db.session.query(LossReason).filter_by(name="Цена").one()
    assert numbers(admin_client, f"reason={price.id}&status=lost") == ["B2"]
    assert numbers(admin_client, f"reason={price.id}") == []


@pytest.mark.parametrize(
    ("q", "expected"),
    [("труб", ["A1"]), ("лютик", ["B3", "B1"]), ("a2", ["A2"]), ("pipes", ["A2"])],
)
def test_search_by_number_title_or_partner(admin_client, q, expected):
    assert numbers(admin_client, f"q={q}") == expected


def test_sorts(admin_client):
    assert numbers(admin_client, "sort=-amount") == ["B3", "A2", "B1", "A1"]
    assert numbers(admin_client, "sort=expected") == ["A1", "A2", "B1", "B3"]
    assert numbers(admin_client, "sort=no&status=all") == ["A1", "A2", "A3", "B1", "B2", "B3"]


def test_stale_filter_finds_deals_over_twice_their_stage_median(
    admin_client, desk, make_deal_kind, make_deal
):
    kind = make_deal_kind(name="Быстрая", stages=("One",))
    now = utcnow()
    for no, days in (("S1", 1), ("S2", 2), ("S3", 5), ("S4", 4)):
        # median of 1, 2, 4, 5 = 3: stale above 6 days; S3 and S4 are not, then S5 (7) is
        make_deal(desk["romashka"], kind, desk["anna"], deal_no=no,
                  stage_entered_at=now - timedelta(days=days, hours=1))  # fmt: skip
    assert numbers(admin_client, f"stale=1&kind={kind.id}") == []
    make_deal(desk["romashka"], kind, desk["anna"], deal_no="S5",
              stage_entered_at=now - timedelta(days=9, hours=1))  # fmt: skip
    # median of 1, 2, 4, 5, 9 = 4: stale above 8 days
    assert numbers(admin_client, f"stale=1&kind={kind.id}") == ["S5"]


def test_pages_keep_the_filters(admin_client, app):
    app.config["PAGE_SIZE"] = 2
    first = admin_client.get("/deals/?sort=-amount")
    assert listed(first) == ["B3", "A2"]
    assert "Page 1 of 2" in text(first)
    assert 'href="/deals/?sort=-amount&amp;page=2"' in text(first)
    assert numbers(admin_client, "sort=-amount&page=2") == ["B1", "A1"]
    assert numbers(admin_client, "sort=-amount&page=99") == ["B1", "A1"]


def test_count_line_and_fragment(admin_client):
    page = admin_client.get("/deals/?status=lost", headers=HX)
    body = text(page)
    assert "<html" not in body
    assert "1 deal found" in body
    raw = admin_client.get("/deals/?q=&status=lost&kind=&partner_q=x&sort=-created", headers=HX)
    assert raw.headers["HX-Push-Url"] == "/deals/?status=lost"
    assert page.headers["Vary"] == "HX-Request" or "HX-Request" in page.headers["Vary"]
    whole = text(admin_client.get("/deals/"))
    assert "4 deals" in whole and "<html" in whole
    # On a phone each row is a card of labelled cells (static/css/app.css, .table-cards).
    assert 'class="table table-hover align-middle table-cards" id="deal-table"' in body
    assert '<td data-label="Amount" class="text-end text-nowrap">₽3,000.00</td>' in body


def test_bad_parameters_are_reported_not_fatal(admin_client):
    response = admin_client.get(
        "/deals/?status=maybe&kind=abc&created_from=2026-13-45&page=-3&reached=x&stale=1&manager=0"
    )
    assert response.status_code == 200
    body = text(response)
    assert "Unknown status" in body
    assert "Unknown kind of deal ignored." in body
    assert "not a" in body
    assert listed(response) == []  # stale among the open deals of January: none is stale
    swapped = admin_client.get("/deals/?created_from=2026-03-01&created_to=2026-02-01&status=all")
    assert "its dates were swapped" in text(swapped)
    assert listed(swapped) == ["B1", "B2", "A2"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anna", ["B1", "A2", "A3", "A1"]),
        ("boris", ["B3", "B1", "B2"]),
        ("admin", ["B3", "B1", "B2", "A2", "A3", "A1"]),
        ("viewer", ["B3", "B1", "B2", "A2", "A3", "A1"]),
    ],
)
def test_each_role_lists_the_deals_it_may_see(client, desk, login_as, role, expected):
    login_as(desk[role])
    assert numbers(client, "status=all") == expected


def test_marketer_lists_every_deal_and_may_not_create(client, desk, login_as):
    login_as("marketer")
    page = client.get("/deals/?status=all")
    assert len(listed(page)) == 6
    assert "New deal" not in text(page)
    assert client.get("/deals/new").status_code == 403


def test_manager_filtering_on_a_colleague_sees_only_joined_deals(client, desk, login_as):
    login_as(desk["anna"])
    assert numbers(client, f"manager={desk['boris'].id}&status=all") == ["B1"]


def test_csv_download_holds_the_filtered_visible_deals(client, desk, login_as):
    login_as(desk["anna"])
    response = client.get("/deals/?format=csv&status=all&sort=no")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Deal number", "Title", "Partner"]
    assert [r[0] for r in rows[1:]] == ["A1", "A2", "A3", "B1"]
    assert rows[3] == [
        "A3", "Won pipes", "Ромашка", "Поставка", "", "Won", "7000.00", "2026-01-20", "",
        "2026-02-10", "Анна Петрова", "",
    ]  # fmt: skip


def test_xlsx_download(admin_client):
    response = admin_client.get("/deals/?format=xlsx&status=lost")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][0] == "B2"
    assert values[1][11] == "Цена"
    assert len(values) == 2


def test_download_with_a_bad_filter_shows_the_page_instead(admin_client):
    response = admin_client.get("/deals/?format=csv&status=bogus")
    assert response.status_code == 400
    assert "Unknown status" in text(response)


def test_signed_out_visitor_is_sent_to_sign_in(client, desk):
    response = client.get("/deals/")
    assert response.status_code in (302, 401)


def test_stage_options_follow_the_kind(admin_client, desk):
    response = admin_client.get(f"/deals/stage-options?kind={desk['service'].id}", headers=HX)
    body = text(response)
    assert "<html" not in body
    assert re.findall(r"<option value=\"\d*\">([^<]*)</option>", body) == [
        "Any stage",
        "Talk",
        "Quote",
    ]
    every = text(admin_client.get("/deals/stage-options?kind=zz"))
    assert "Поставка: Lead" in every and "Сервис: Quote" in every


def test_stage_of_another_kind_is_cleared_with_a_message(admin_client, desk):
    offer = desk["supply"].stages[1]
    response = admin_client.get(f"/deals/?kind={desk['service'].id}&stage={offer.id}")
    assert "The stage filter was not a stage of the chosen kind; cleared." in text(response)
    assert listed(response) == ["B1"]


def test_stale_filter_follows_the_stale_factor_setting(
    admin_client, app, desk, make_deal_kind, make_deal
):
    app.config["DEAL_STALE_FACTOR"] = 1.5
    kind = make_deal_kind(name="Быстрая", stages=("One",))
    now = utcnow()
    for no, days in (("S1", 2), ("S2", 4), ("S3", 6), ("S4", 7)):
        make_deal(desk["romashka"], kind, desk["anna"], deal_no=no,
                  stage_entered_at=now - timedelta(days=days, hours=1))  # fmt: skip
    # median of 2, 4, 6, 7 = 5; 1.5 × 5 = 7.5: S4's 7 days are not above it
    assert numbers(admin_client, f"stale=1&kind={kind.id}") == []
    app.config["DEAL_STALE_FACTOR"] = 1.3  # 6.5: S4 is stale
    assert numbers(admin_client, f"stale=1&kind={kind.id}") == ["S4"]
