"""Deals in the lower domains' registries: the interaction subject "deal" (labels, links, who
may see it, the picker's search, "New deal from this chain" on an interaction's page) and the
partner card's Deals tab and header fact. A manager sees his own deals and those he takes part
in; a viewer sees every deal. Expected rows are worked out by hand from the fixture."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta

import pytest

from crm.core.errors import DomainError
from crm.core.timeutil import to_zone, utcnow
from crm.extensions import db
from crm.interactions import services as interaction_services
from crm.interactions import subjects

HX = {"HX-Request": "true"}


@pytest.fixture
def world(make_user, make_partner, make_deal_kind, make_deal):
    ivan = make_user("manager", name="Иван", locale="en")
    petr = make_user("manager", name="Пётр", locale="en")
    viewer = make_user("viewer", name="Вера", locale="en")
    marketer = make_user("marketer", name="Марк", locale="en")
    romashka = make_partner(name="ООО Ромашка", responsible=ivan)
    # Ivan's partner, but its only deal is Pëtr's.
    lyutik = make_partner(name="Лютик", responsible=ivan)
    kind = make_deal_kind(name="Поставка", stages=("Lead", "Offer", "Contract"))
    today = to_zone(utcnow(), "Europe/Moscow").date()
    deal = make_deal
    d = {
        # Ivan's own open deal.
        "own": deal(
            romashka,
            kind,
            ivan,
            stage="Offer",
            amount="100000",
            title="Lathe supply",
            deal_no="D-101",
            created_on=date(2026, 3, 1),
            expected_close=today + timedelta(days=3),
        ),
        # Pëtr's, Ivan takes part: overdue.
        "shared": deal(
            romashka,
            kind,
            petr,
            amount="50000.50",
            title="Сервис",
            deal_no="D-102",
            created_on=date(2026, 2, 1),
            expected_close=today - timedelta(days=2),
            participants=[ivan],
        ),
        # Pëtr's alone: hidden from Ivan.
        "hidden": deal(
            romashka,
            kind,
            petr,
            amount="7000",
            title="Secret",
            deal_no="D-103",
            created_on=date(2026, 4, 1),
            expected_close=today + timedelta(days=1),
        ),
        # Ivan's, won.
        "won": deal(
            romashka,
            kind,
            ivan,
            status="won",
            amount="30000",
            title="Lathe repair",
            deal_no="D-104",
            created_on=date(2026, 5, 1),
            closed_on=date(2026, 6, 1),
        ),
        # Lyutik's: Pëtr's alone.
        "lyutik": deal(
            lyutik,
            kind,
            petr,
            amount="9000",
            title="",
            deal_no="D-105",
            created_on=date(2026, 1, 5),
            expected_close=today + timedelta(days=10),
        ),
    }
    return {
        "ivan": ivan,
        "petr": petr,
        "viewer": viewer,
        "marketer": marketer,
        "romashka": romashka,
        "lyutik": lyutik,
        "kind": kind,
        "today": today,
        "deals": d,
    }


def ids(*deals) -> list[int]:
    return [d.id for d in deals]


# --- the interaction subject ---------------------------------------------------------------


def test_deal_is_a_registered_subject_type(app, world):
    kind = subjects.subject_type("deal")
    assert kind is not None and str(kind.title) == "Deal"
    assert "deal" in [t.key for t in subjects.subject_types()]


def test_subject_labels_and_links_hide_what_the_user_may_not_see(app, world):
    d = world["deals"]
    pairs = [("deal", d[k].id) for k in ("own", "shared", "hidden", "lyutik")]
    pairs.append(("deal", 999_999))  # a dangling link
    as_ivan = subjects.describe(pairs, world["ivan"])
    assert as_ivan == {
        ("deal", d["own"].id): ("D-101 — Lathe supply / ООО Ромашка", f"/deals/{d['own'].id}"),
        ("deal", d["shared"].id): ("D-102 — Сервис / ООО Ромашка", f"/deals/{d['shared'].id}"),
        ("deal", d["hidden"].id): (f"Deal #{d['hidden'].id}", None),
        ("deal", d["lyutik"].id): (f"Deal #{d['lyutik'].id}", None),
    }
    as_viewer = subjects.describe(pairs, world["viewer"])
    assert as_viewer[("deal", d["hidden"].id)] == (
        "D-103 — Secret / ООО Ромашка",
        f"/deals/{d['hidden'].id}",
    )
    # A deal without a title: number and partner.
    assert as_viewer[("deal", d["lyutik"].id)] == ("D-105 / Лютик", f"/deals/{d['lyutik'].id}")
    assert ("deal", 999_999) not in as_viewer


def test_can_view_follows_the_deal_policy(app, world):
    kind, d = subjects.subject_type("deal"), world["deals"]
    ivan, viewer = world["ivan"], world["viewer"]
    assert [kind.can_view(ivan, d[k].id) for k in ("own", "shared", "hidden", "won")] == [
        True,
        True,
        False,
        True,
    ]
    assert all(kind.can_view(viewer, d[k].id) for k in d)
    assert kind.can_view(viewer, 999_999) is False


def test_search_finds_visible_deals_by_number_title_or_partner_open_first(app, world):
    search, d = subjects.subject_type("deal").search, world["deals"]
    ivan, viewer = world["ivan"], world["viewer"]
    # By partner (folded: any case, "ё" as "е"): open first (latest created first), then closed.
    assert [i for i, _label in search(ivan, "ромашка", 20)] == ids(d["own"], d["shared"], d["won"])
    assert [i for i, _label in search(viewer, "РОМАШКА", 20)] == ids(
        d["hidden"], d["own"], d["shared"], d["won"]
    )
    # By title, any case; by number.
    assert [i for i, _label in search(ivan, "LATHE", 20)] == ids(d["own"], d["won"])
    assert search(viewer, "d-105", 20) == [(d["lyutik"].id, "D-105 / Лютик")]
    # What he may not see is never found; the limit holds; LIKE wildcards are plain text.
    assert search(ivan, "secret", 20) == [] and search(ivan, "D-105", 20) == []
    assert len(search(viewer, "D-10", 2)) == 2
    assert search(viewer, "%", 20) == []
    # No text: every visible deal, open first.
    assert [i for i, _label in search(ivan, "", 20)] == ids(d["own"], d["shared"], d["won"])


def test_an_interaction_may_be_about_a_deal_the_user_sees_only(app, world):
    ivan, d = world["ivan"], world["deals"]
    call = {
        "kind": "call",
        "status": "completed",
        "direction": "outgoing",
        "partner_id": world["romashka"].id,
        "starts_at": datetime(2026, 3, 2, 9, 0),
        "subject_type": "deal",
    }
    with pytest.raises(DomainError) as exc:
        interaction_services.create_interaction(ivan, {**call, "subject_id": d["hidden"].id})
    assert exc.value.field_errors == {"subject_id": ["You cannot see this deal."]}
    linked = interaction_services.create_interaction(ivan, {**call, "subject_id": d["shared"].id})
    assert (linked.subject_type, linked.subject_id) == ("deal", d["shared"].id)


def test_interaction_page_names_and_links_its_deal(client, login_as, world, make_interaction):
    ivan, d = world["ivan"], world["deals"]
    mine = make_interaction(ivan, subject_type="deal", subject_id=d["own"].id)
    login_as(ivan)
    body = client.get(f"/interactions/{mine.id}").get_data(as_text=True)
    assert f'href="/deals/{d["own"].id}"' in body
    assert html.escape("D-101 — Lathe supply / ООО Ромашка") in body


# --- "New deal from this chain" -------------------------------------------------------------


def new_deal_links(body: str) -> list[str]:
    return [
        html.unescape(u)
        for u in re.findall(r'<a class="[^"]*create-from-chain[^"]*" href="([^"]+)"', body)
    ]


def test_new_deal_from_chain_button_for_who_may_create_deals(
    client, login_as, world, make_interaction
):
    ivan, romashka = world["ivan"], world["romashka"]
    first = make_interaction(ivan, partner=romashka)
    reply = make_interaction(ivan, partner=romashka, parent=first)
    login_as(ivan)
    body = client.get(f"/interactions/{reply.id}").get_data(as_text=True)
    assert new_deal_links(body) == [
        f"/deals/new?partner_id={romashka.id}&from_interaction={reply.id}"
    ]
    assert "New deal from this chain" in body
    # Without a partner the form asks for one.
    alone = make_interaction(ivan)
    body = client.get(f"/interactions/{alone.id}").get_data(as_text=True)
    assert new_deal_links(body) == [f"/deals/new?from_interaction={alone.id}"]
    # Viewers and marketers read the interaction but may not open deals.
    for role in ("viewer", "marketer"):
        login_as(world[role])
        page = client.get(f"/interactions/{reply.id}")
        assert page.status_code == 200
        assert new_deal_links(page.get_data(as_text=True)) == []


def test_no_new_deal_button_when_the_interaction_is_already_about_a_deal(
    client, login_as, world, make_interaction
):
    ivan = world["ivan"]
    about = make_interaction(ivan, subject_type="deal", subject_id=world["deals"]["own"].id)
    free_text = make_interaction(ivan, subject_text="A deal someday")
    login_as(ivan)
    assert new_deal_links(client.get(f"/interactions/{about.id}").get_data(as_text=True)) == []
    assert (
        len(new_deal_links(client.get(f"/interactions/{free_text.id}").get_data(as_text=True))) == 1
    )


# --- the partner card ------------------------------------------------------------------------


def tab(client, partner_id: int) -> str:
    response = client.get(f"/partners/{partner_id}", query_string={"tab": "deals"}, headers=HX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body
    return body


def tab_rows(body: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="partner-deal-(\d+)"', body)]


def test_deals_tab_lists_visible_deals_open_first(client, login_as, world):
    d, romashka = world["deals"], world["romashka"]
    login_as(world["ivan"])
    body = tab(client, romashka.id)
    # Open by expected close (the overdue one first), then the closed one; Pëtr's own not there.
    assert tab_rows(body) == ids(d["shared"], d["own"], d["won"])
    assert "Secret" not in body
    row = body.split(f'id="partner-deal-{d["own"].id}"')[1].split("</tr>")[0]
    assert "Offer" in row and "100,000.00" in row and f'href="/deals/{d["own"].id}"' in row
    assert "Open" in row
    overdue = body.split(f'id="partner-deal-{d["shared"].id}"')[1].split("</tr>")[0]
    assert "text-danger" in overdue and "overdue" in overdue
    won = body.split(f'id="partner-deal-{d["won"].id}"')[1].split("</tr>")[0]
    assert "Won" in won and "text-danger" not in won
    new_deal = re.search(r'id="partner-new-deal" href="([^"]+)"', body)
    assert html.unescape(new_deal.group(1)) == f"/deals/new?partner_id={romashka.id}"


def test_viewer_sees_every_deal_of_the_partner_but_may_not_create(client, login_as, world):
    d = world["deals"]
    login_as(world["viewer"])
    body = tab(client, world["romashka"].id)
    assert tab_rows(body) == ids(d["shared"], d["hidden"], d["own"], d["won"])
    assert 'id="partner-new-deal"' not in body


def test_deals_tab_is_on_the_card_and_empty_for_a_partner_without_visible_deals(
    client, login_as, world
):
    login_as(world["ivan"])
    page = client.get(f"/partners/{world['romashka'].id}").get_data(as_text=True)
    assert f"/partners/{world['romashka'].id}?tab=deals" in html.unescape(page)
    # Lyutik is Ivan's partner, but its only deal is Pëtr's: nothing to list, no fact.
    body = tab(client, world["lyutik"].id)
    assert tab_rows(body) == [] and 'id="partner-deals-empty"' in body
    assert 'id="fact-deals"' not in client.get(f"/partners/{world['lyutik'].id}").get_data(
        as_text=True
    )


def test_card_fact_counts_open_visible_deals_and_their_amount(client, login_as, world):
    romashka = world["romashka"]
    login_as(world["ivan"])
    page = client.get(f"/partners/{romashka.id}").get_data(as_text=True)
    fact = re.search(r'<a id="fact-deals" href="([^"]+)">([^<]+)</a>', page)
    # Ivan: his own 100,000.00 and the shared 50,000.50; not Pëtr's 7,000, not the won one.
    assert html.unescape(fact.group(2)) == "2 open deals · ₽150,000.50"
    assert html.unescape(fact.group(1)) == f"/partners/{romashka.id}?tab=deals"
    login_as(world["viewer"])
    page = client.get(f"/partners/{romashka.id}").get_data(as_text=True)
    fact = re.search(r'<a id="fact-deals" href="[^"]+">([^<]+)</a>', page)
    assert html.unescape(fact.group(1)) == "3 open deals · ₽157,000.50"


def test_no_card_fact_without_open_deals(client, login_as, world, make_partner, make_deal):
    quiet = make_partner(name="Тихий", responsible=world["ivan"])
    make_deal(quiet, world["kind"], world["ivan"], status="lost", loss_reason="Price")
    login_as(world["viewer"])
    page = client.get(f"/partners/{quiet.id}").get_data(as_text=True)
    assert 'id="fact-deals"' not in page
    # One open deal: the singular.
    make_deal(quiet, world["kind"], world["ivan"], amount="1")
    page = client.get(f"/partners/{quiet.id}").get_data(as_text=True)
    assert "1 open deal · ₽1.00" in html.unescape(page)


def test_deals_tab_fact_and_chain_button_in_russian(
    client, login_as, world, make_user, make_interaction
):
    ru = make_user("viewer", locale="ru")
    login_as(ru)
    page = html.unescape(client.get(f"/partners/{world['romashka'].id}").get_data(as_text=True))
    fact = re.search(r'<a id="fact-deals" href="[^"]+">([^<]+)</a>', page).group(1)
    assert fact.replace("\xa0", " ").replace("\u202f", " ") == "3 открытые сделки · 157 000,50 ₽"
    # A Russian manager: the tab's heading and button, the chain's button.
    ivan = world["ivan"]
    ivan.locale = "ru"
    db.session.commit()
    login_as(ivan)
    body = tab(client, world["romashka"].id)
    assert "3 сделки" in body and ">Новая сделка<" in body and "Плановое закрытие" in body
    call = make_interaction(ivan, partner=world["romashka"])
    page = client.get(f"/interactions/{call.id}").get_data(as_text=True)
    assert "Новая сделка по этой цепочке" in page
