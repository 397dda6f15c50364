"""The deal card: fields and result, stage history with days, documents linked by number,
the timeline of interactions about the deal (only those the reader may see), the probability
components, the stage and result actions by permission, and the Russian formats."""

from __future__ import annotations

import html
import re
import sys
import types
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from crm.core.timeutil import utcnow
from crm.deals import views
from crm.deals.models import DealStageEntry, LossReason
from crm.extensions import db
from tests.deals.helpers import text
from tests.factories import create_document


def card(client, deal) -> str:
    response = client.get(f"/deals/{deal.id}")
    assert response.status_code == 200, response.status_code
    return html.unescape(text(response))


def cells(page: str, table_id: str) -> list[list[str]]:
    """The rows of a table's body as lists of cell texts (tags dropped, spaces collapsed)."""
    body = page[page.index(f'id="{table_id}"') :]
    body = body[body.index("<tbody>") : body.index("</tbody>")]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        found = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append([re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip() for c in found])
    return rows


def test_card_shows_the_fields_and_the_loss(client, desk, login_as):
    login_as(desk["admin"])
    b2 = desk["deals"]["B2"]
    b2.loss_comment = "Дорого для них"
    b2.source = "Сайт"
    db.session.commit()
    page = card(client, b2)
    assert '<h1 class="h3 mb-0" id="deal-heading">Lost service</h1>' in page
    status = page[
        page.index('id="deal-status"') : page.index("</dd>", page.index('id="deal-status"'))
    ]
    assert "Lost" in status and "5 Mar 2026" in status
    assert "Цена" in status and "Дорого для них" in status
    assert "₽3,000.00" in page and "Сайт" in page and "Борис Иванов" in page
    assert "stages move freely" in page


def test_stage_history_lists_each_stay_with_who_and_days(client, desk, login_as):
    login_as(desk["admin"])
    a2 = desk["deals"]["A2"]
    supply = desk["supply"]
    lead, offer = supply.stages[0], supply.stages[1]
    a2.history = [
        DealStageEntry(stage_id=lead.id, entered_at=datetime(2026, 2, 5, 9, 0),
                       left_at=datetime(2026, 2, 12, 15, 0), user_id=desk["anna"].id),
        DealStageEntry(stage_id=offer.id, entered_at=datetime(2026, 2, 12, 15, 0),
                       user_id=desk["boris"].id),
    ]  # fmt: skip
    a2.stage_entered_at = datetime(2026, 2, 12, 15, 0)
    db.session.commit()
    days_now = (utcnow() - datetime(2026, 2, 12, 15, 0)).days
    rows = cells(card(client, a2), "deal-history")
    assert [(r[0], r[3], r[4]) for r in rows] == [
        ("Lead", "Анна Петрова", "7"),
        ("Offer", "Борис Иванов", f"{days_now:,}"),
    ]
    assert rows[0][2] != "—" and rows[1][2] == "—"


def test_documents_are_linked_by_number_and_unlinked(client, desk, login_as):
    login_as(desk["anna"])
    a3 = desk["deals"]["A3"]
    doc = create_document(desk["romashka"], amounts=(100, "250.50"), doc_no="РН-1",
                          date=date(2026, 2, 1))  # fmt: skip
    create_document(desk["lyutik"], doc_no="ЧУЖОЙ-1")

    linked = client.post(f"/deals/{a3.id}/documents", data={"doc_no": " РН-1 "})
    assert linked.status_code == 302
    page = card(client, a3)
    assert cells(page, "deal-document-table") == [["РН-1", "1 Feb 2026", "₽350.50", "unlink"]]
    assert "Document РН-1 is linked to the deal." in page

    client.post(f"/deals/{a3.id}/documents", data={"doc_no": "НЕТ-9"})
    assert "No sales document has the number НЕТ-9." in card(client, a3)
    client.post(f"/deals/{a3.id}/documents", data={"doc_no": "ЧУЖОЙ-1"})
    assert "Document ЧУЖОЙ-1 belongs to another partner." in card(client, a3)
    assert len(cells(card(client, a3), "deal-document-table")) == 1

    assert client.post(f"/deals/{a3.id}/documents/999/delete").status_code == 404
    assert client.post(f"/deals/{a3.id}/documents/{doc.id}/delete").status_code == 302
    assert "No sales document is linked to the deal yet." in card(client, a3)


def test_only_editors_link_documents(client, desk, login_as):
    create_document(desk["lyutik"], doc_no="Л-1")
    login_as(desk["anna"])  # takes part in B1, is not its manager
    b1 = desk["deals"]["B1"]
    assert 'id="deal-link-document"' not in card(client, b1)
    assert client.post(f"/deals/{b1.id}/documents", data={"doc_no": "Л-1"}).status_code == 403
    login_as("viewer")
    assert client.post(f"/deals/{b1.id}/documents", data={"doc_no": "Л-1"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(type(b1), b1.id).documents == []


def test_timeline_lists_the_visible_interactions_about_the_deal_newest_first(
    client, desk, login_as, make_interaction
):
    a1 = desk["deals"]["A1"]
    anna, boris = desk["anna"], desk["boris"]
    about = {"subject_type": "deal", "subject_id": a1.id}
    make_interaction(anna, starts_at=datetime(2026, 3, 1, 9), title="Первый", **about)
    make_interaction(anna, starts_at=datetime(2026, 3, 5, 9), title="Второй", **about)
    make_interaction(boris, starts_at=datetime(2026, 3, 3, 9), title="Борисов", **about)
    make_interaction(anna, starts_at=datetime(2026, 3, 4, 9), title="Не о сделке")

    login_as(anna)
    page = card(client, a1)
    timeline = page[page.index('id="deal-timeline"') :]
    titles = re.findall(r'href="/interactions/\d+">(.*?)</a>', timeline)
    assert titles == ["Второй", "Первый"]
    login_as(desk["admin"])
    page = card(client, a1)
    timeline = page[page.index('id="deal-timeline"') :]
    assert re.findall(r'href="/interactions/\d+">(.*?)</a>', timeline) == [
        "Второй",
        "Борисов",
        "Первый",
    ]


@dataclass
class FakeComponent:
    key: str
    won: int
    lost: int
    minimum: int = 5

    @property
    def closed(self):
        return self.won + self.lost

    @property
    def rate(self):
        return Decimal(self.won * 100) / self.closed if self.closed else None

    @property
    def used(self):
        return self.closed >= self.minimum


@dataclass
class FakeProbability:
    deal_id: int
    components: list = field(default_factory=list)
    default: Decimal = Decimal(10)

    @property
    def used(self):
        return [c for c in self.components if c.used]

    @property
    def value(self):
        used = self.used
        return sum(c.rate for c in used) / len(used) if used else self.default

    @property
    def fallback(self):
        return not self.used


@pytest.fixture
def fake_probability(monkeypatch):
    """crm.deals.probability as its contract describes it, with fixed counts: stage 3 of 4
    closed won (75 %), manager 1 of 5 (20 %), partner 2 of 2 (too few), kind 0 of 0."""
    import crm.deals

    module = types.ModuleType("crm.deals.probability")
    module.MIN_CLOSED = 5
    components = [
        FakeComponent("stage", 3, 1, 4),
        FakeComponent("manager", 1, 4),
        FakeComponent("partner", 2, 0),
        FakeComponent("kind", 0, 0),
    ]
    module.probability_of = lambda deal, as_of=None: FakeProbability(deal.id, components)
    monkeypatch.setitem(sys.modules, "crm.deals.probability", module)
    monkeypatch.setattr(crm.deals, "probability", module, raising=False)
    return module


def test_open_deal_shows_its_probability_components(client, desk, login_as, fake_probability):
    login_as(desk["admin"])
    page = card(client, desk["deals"]["A1"])
    assert 'id="deal-probability-value">47.5%<' in page  # (75 + 20) / 2
    rows = cells(page, "deal-probability-components")
    assert rows == [
        ["Stage", "75%", "3 won of 4"],
        ["Manager", "20%", "1 won of 5"],
        ["Partner (not counted)", "100%", "2 won of 2"],
        ["Kind of deal (not counted)", "—", "0 won of 0"],
    ]
    assert "at least 5 closed deals" in page
    assert 'id="deal-probability"' not in card(client, desk["deals"]["A3"])


@pytest.fixture
def board_urls(monkeypatch):
    """The board's move/win/lose/reopen views (another part's) as their contract names them."""
    monkeypatch.setattr(
        views, "_url", lambda endpoint, deal_id: f"/deals/{deal_id}/{endpoint.split('.')[1]}"
    )


def forms_of(page: str) -> dict[str, str]:
    return {m[1]: m[0] for m in re.finditer(r'<form method="post" action="/deals/\d+/(\w+)"', page)}


def test_process_deal_offers_the_next_stage_and_lost_with_a_required_reason(
    client, desk, login_as, board_urls
):
    db.session.add_all([LossReason(name="Дорого"), LossReason(name="Старая", is_active=False)])
    db.session.commit()
    login_as(desk["anna"])
    a1 = desk["deals"]["A1"]
    offer = desk["supply"].stages[1]
    page = card(client, a1)
    assert set(forms_of(page)) >= {"move", "lose"}
    assert "win" not in forms_of(page) and "reopen" not in forms_of(page)
    move = page[page.index('id="deal-next-stage"') :]
    move = move[: move.index("</form>")]
    assert f'name="stage_id" value="{offer.id}"' in move
    assert 'name="version" value="1"' in move
    assert f'name="next" value="/deals/{a1.id}"' in move
    assert "Move to «Offer»" in move
    lose = page[page.index('id="deal-lose"') : page.index("</form>", page.index('id="deal-lose"'))]
    assert 'name="loss_reason_id" required' in lose
    assert "Дорого" in lose and "Старая" not in lose and "Цена" in lose


def test_free_kind_deal_offers_a_stage_select_and_won(client, desk, login_as, board_urls):
    login_as(desk["anna"])  # a participant of B1 moves it
    b1 = desk["deals"]["B1"]
    page = card(client, b1)
    assert {"move", "win", "lose"} <= set(forms_of(page))
    move = page[page.index('id="deal-move"') : page.index("</form>", page.index('id="deal-move"'))]
    assert re.findall(r"<option value=\"\d+\">(\w+)</option>", move) == ["Talk"]
    win = page[page.index('id="deal-win"') : page.index("</form>", page.index('id="deal-win"'))]
    assert 'name="amount" value="2000.00"' in win


def test_closed_deal_offers_reopen_and_readers_get_no_actions(client, desk, login_as, board_urls):
    login_as(desk["anna"])
    assert set(forms_of(card(client, desk["deals"]["A3"]))) - {"documents"} == {"reopen"}
    login_as("viewer")
    page = card(client, desk["deals"]["A1"])
    assert 'id="deal-actions"' not in page
    assert forms_of(page) == {}


def test_card_without_the_board_installed_shows_no_dead_buttons(client, desk, login_as):
    login_as(desk["anna"])
    page = card(client, desk["deals"]["A1"])
    if "deals.move" not in client.application.view_functions:
        assert 'id="deal-actions"' not in page
    else:
        assert 'id="deal-actions"' in page


def test_russian_list_and_card_show_russian_money_and_dates(
    client, login_as, make_partner, make_deal_kind, make_deal
):
    me = login_as("manager", locale="ru")
    partner = make_partner(name="Ромашка", responsible=me)
    kind = make_deal_kind(name="Поставка", stages=("Лид", "КП"))
    deal = make_deal(partner, kind, me, deal_no="R1", title="Трубы", amount="1234.50",
                     created_on=date(2026, 1, 10), expected_close=date(2026, 12, 4))  # fmt: skip
    listing = html.unescape(text(client.get("/deals/")))
    assert "1\u00a0234,50\u00a0₽" in listing
    assert "04.12.2026" in listing
    assert "<th>Этап</th>" in listing and "Сделки" in listing
    page = card(client, deal)
    assert 'id="deal-amount">1\u00a0234,50\u00a0₽<' in page
    assert 'id="deal-created">10.01.2026<' in page
    assert 'id="deal-expected">04.12.2026<' in page


def test_card_flags_a_deal_stale_past_twice_its_stage_median(
    client, desk, login_as, make_deal_kind, make_deal
):
    login_as(desk["admin"])
    kind = make_deal_kind(name="Быстрая", stages=("One",))
    now = utcnow()
    deals = {
        no: make_deal(desk["romashka"], kind, desk["anna"], deal_no=no,
                      stage_entered_at=now - timedelta(days=days, hours=1))
        for no, days in (("S1", 1), ("S2", 2), ("S3", 4), ("S4", 5), ("S5", 9))
    }  # fmt: skip
    # median 4 days: stale above 8
    assert 'id="deal-stale"' in card(client, deals["S5"])
    assert "9 days in the stage" in card(client, deals["S5"])
    assert 'id="deal-stale"' not in card(client, deals["S4"])
