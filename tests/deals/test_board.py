"""The pipeline board: columns with their counts and totals, the stale flag, filters, "load
more", who may move what, and the stage/result actions as full requests and as HTMX fragments."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from crm.core.timeutil import utcnow
from crm.deals.models import Deal, LossReason
from crm.extensions import db
from tests.helpers import page_text

HX = {"HX-Request": "true", "HX-Target": "board-body"}


# --- reading the board as a user sees it ------------------------------------------------------


def columns(html: str) -> dict[str, dict]:
    """{column title: {"count", "total", "cards": [deal ids], "stale": [deal ids]}}."""
    found = {}
    for body in re.findall(r'<section class="board-column".*?</section>', html, re.S):
        title = re.search(r"<h2[^>]*>(.*?)</h2>", body, re.S)[1].strip()
        found[title] = {
            "count": int(re.search(r'data-count="(\d+)"', body)[1]),
            "total": re.search(r'class="board-total">(.*?)</span>', body, re.S)[1].strip(),
            "cards": [
                int(n)
                for n in re.findall(r'<article class="board-card[^"]*" id="deal-(\d+)"', body)
            ],
            "stale": [
                int(n)
                for n in re.findall(
                    r'<article class="board-card is-stale[^"]*" id="deal-(\d+)"', body
                )
            ],
        }
    return found


def flashes(client) -> str:
    return page_text(client.get("/deals/board"))


def ago(days: int, minutes: int = 0):
    """A moment `days` whole days (and some hours) before now: days in stage = `days`."""
    return utcnow() - timedelta(days=days, hours=2, minutes=minutes)


@pytest.fixture
def manager(make_user):
    return make_user("manager")


@pytest.fixture
def partner(make_partner, manager):
    return make_partner(name="ООО Ромашка", responsible=manager)


@pytest.fixture
def kind(make_deal_kind):
    return make_deal_kind(name="Поставка", stages=("Lead", "Offer", "Contract"))


def _stage(kind, name):
    return next(s for s in kind.stages if s.name == name)


def _reload(deal_id) -> Deal:
    db.session.expire_all()
    return db.session.get(Deal, deal_id)


# --- columns, totals, stale ------------------------------------------------------------------


def test_columns_count_and_total_the_open_deals_and_flag_stale_ones(
    client, login_as, make_user, make_partner, make_deal_kind, make_deal, manager, partner, kind
):
    other_manager = make_user("manager")
    lead = [
        make_deal(partner, kind, manager=manager, amount="100", stage_entered_at=ago(1)),
        make_deal(partner, kind, manager=manager, amount="200", stage_entered_at=ago(2)),
        make_deal(partner, kind, manager=manager, amount="300.50", stage_entered_at=ago(3)),
        make_deal(partner, kind, manager=other_manager, amount="400", stage_entered_at=ago(10)),
    ]
    offer = make_deal(
        partner, kind, manager=manager, stage="Offer", amount="50", stage_entered_at=ago(4)
    )
    # Closed deals and another kind's deals are not on the board.
    make_deal(partner, kind, manager=manager, status="won", amount="9999")
    make_deal(partner, kind, manager=manager, status="lost", stage="Lead", loss_reason="Price")
    make_deal(partner, make_deal_kind(name="Сервис"), manager=manager, amount="7777")
    login_as("admin")

    cols = columns(page_text(client.get(f"/deals/board?kind={kind.id}")))

    # Lead: days 1, 2, 3, 10 → median 2.5; only 10 > 2 × 2.5. Offer: one deal, 4 ≤ 8.
    assert list(cols) == ["Lead", "Offer", "Contract"]
    assert cols["Lead"]["count"] == 4 and cols["Lead"]["total"] == "₽1,000.50"
    # Oldest in stage first.
    assert cols["Lead"]["cards"] == [lead[3].id, lead[2].id, lead[1].id, lead[0].id]
    assert cols["Lead"]["stale"] == [lead[3].id]
    assert cols["Offer"] == {"count": 1, "total": "₽50.00", "cards": [offer.id], "stale": []}
    assert cols["Contract"] == {"count": 0, "total": "₽0.00", "cards": [], "stale": []}

    # The median stays the whole stage's when the board is filtered to one manager.
    cols = columns(page_text(client.get(f"/deals/board?kind={kind.id}&manager={other_manager.id}")))
    assert cols["Lead"] == {
        "count": 1,
        "total": "₽400.00",
        "cards": [lead[3].id],
        "stale": [lead[3].id],
    }
    assert cols["Offer"]["count"] == 0


def test_board_defaults_to_the_first_active_kind_with_open_deals(
    client, login_as, make_deal_kind, make_deal, manager, partner
):
    make_deal_kind(name="A: empty")
    make_deal_kind(name="C: later", stages=("X",))
    chosen = make_deal_kind(name="B: busy", stages=("Start", "End"))
    make_deal(partner, chosen, manager=manager)
    login_as(manager)
    text = page_text(client.get("/deals/board"))
    assert list(columns(text)) == ["Start", "End"]
    assert 'id="board-summary"' in text and "B: busy" in text


def test_a_kind_without_stages_has_one_column(
    client, login_as, make_deal_kind, make_deal, manager, partner
):
    flat = make_deal_kind(name="Разовая", stages=(), process=False)
    deal = make_deal(partner, flat, manager=manager, amount="12.30")
    login_as(manager)
    cols = columns(page_text(client.get(f"/deals/board?kind={flat.id}")))
    assert cols == {"No stage": {"count": 1, "total": "₽12.30", "cards": [deal.id], "stale": []}}


def test_filters_narrow_the_board(
    client, login_as, make_user, make_partner, make_deal, manager, partner, kind
):
    other = make_partner(name="ИП Иванов", responsible=manager)
    colleague = make_user("manager")
    early = make_deal(
        partner,
        kind,
        manager=manager,
        created_on=date(2026, 3, 1),
        amount="10",
        stage_entered_at=ago(1, 3),
    )
    late = make_deal(
        partner,
        kind,
        manager=manager,
        created_on=date(2026, 9, 1),
        amount="20",
        stage_entered_at=ago(1, 2),
    )
    theirs = make_deal(
        other,
        kind,
        manager=colleague,
        created_on=date(2026, 9, 2),
        amount="40",
        stage_entered_at=ago(1, 1),
    )
    login_as("admin")

    def lead(query):
        response = client.get(f"/deals/board?kind={kind.id}&{query}")
        assert response.status_code == 200
        return columns(page_text(response))["Lead"]

    assert lead("")["cards"] == [early.id, late.id, theirs.id]
    assert lead(f"partner={other.id}")["cards"] == [theirs.id]
    assert lead(f"manager={manager.id}") == {
        "count": 2,
        "total": "₽30.00",
        "cards": [early.id, late.id],
        "stale": [],
    }
    assert lead("created_from=2026-08-01&created_to=2026-09-01")["cards"] == [late.id]
    # A period given backwards is swapped, with a note.
    backwards = page_text(
        client.get(f"/deals/board?kind={kind.id}&created_from=2026-09-01&created_to=2026-08-01")
    )
    assert columns(backwards)["Lead"]["cards"] == [late.id]
    assert "The period ends before it starts" in backwards
    # The filtered board as a fragment: no page around it.
    fragment = client.get(
        f"/deals/board?kind={kind.id}&partner={other.id}", headers={"HX-Request": "true"}
    )
    assert b"<html" not in fragment.data and columns(page_text(fragment))["Lead"]["count"] == 1


def test_bad_filter_values_are_ignored_with_a_message(
    client, login_as, make_deal, manager, partner, kind
):
    make_deal(partner, kind, manager=manager)
    login_as(manager)
    for query, message in [
        ("kind=abc", "Unknown kind of deal ignored."),
        ("kind=99999", "Unknown kind of deal ignored."),
        ("kind=99999999999999", "Unknown kind of deal ignored."),
        ("manager=x", "Unknown manager ignored."),
        ("partner=-1", "Unknown partner ignored."),
        ("created_from=yesterday", "is not a date"),
        ("created_to=2026-02-31", "is not a date"),
    ]:
        response = client.get(f"/deals/board?{query}")
        assert response.status_code == 200, query
        text = page_text(response)
        assert message in text, query
        assert columns(text)["Lead"]["count"] == 1, query


# --- load more -------------------------------------------------------------------------------


def test_a_long_column_shows_30_cards_and_loads_the_rest(
    client, login_as, make_deal, manager, partner, kind
):
    deals = [
        make_deal(partner, kind, manager=manager, stage_entered_at=ago(40 - n), commit=False)
        for n in range(35)
    ]
    db.session.commit()
    ids = [d.id for d in deals]  # oldest in stage first
    login_as(manager)

    text = page_text(client.get(f"/deals/board?kind={kind.id}"))
    lead = columns(text)["Lead"]
    assert lead["count"] == 35 and lead["cards"] == ids[:30]
    more = re.search(r'<div class="board-more">\s*<a[^>]*href="([^"]+)"', text)[1]
    assert 'hx-get="' + more + '"' in text

    fragment = client.get(more, headers={"HX-Request": "true", "HX-Target": ""})
    assert fragment.status_code == 200 and b"<html" not in fragment.data
    shown = [int(n) for n in re.findall(r'id="deal-(\d+)"', page_text(fragment))]
    assert shown == ids[30:]
    assert b"board-more" not in fragment.data  # nothing after these

    # Without JavaScript the same link is a page of that column.
    page = client.get(more)
    assert page.status_code == 200 and b"<html" in page.data
    assert [int(n) for n in re.findall(r'id="deal-(\d+)"', page_text(page))] == ids[30:]
    assert "35 deals" in page_text(page)


def test_load_more_refuses_bad_columns_without_a_500(
    client, login_as, make_deal_kind, make_deal, manager, partner, kind
):
    make_deal(partner, kind, manager=manager)
    other_stage = make_deal_kind(stages=("Elsewhere",)).stages[0]
    login_as(manager)
    lead = _stage(kind, "Lead").id
    assert client.get(f"/deals/board/column?stage={lead}").status_code == 404
    assert client.get(f"/deals/board/column?kind=abc&stage={lead}").status_code == 404
    assert client.get(f"/deals/board/column?kind={kind.id}&stage=x").status_code == 404
    assert (
        client.get(f"/deals/board/column?kind={kind.id}&stage={other_stage.id}").status_code == 404
    )
    # A damaged keyset starts the column over.
    response = client.get(f"/deals/board/column?kind={kind.id}&stage={lead}&after=garbage_x")
    assert response.status_code == 200 and b"deal-" in response.data


# --- who sees and moves what ---------------------------------------------------------------


def test_a_manager_sees_and_moves_his_and_participating_deals_only(
    client, login_as, make_user, make_deal, manager, partner, kind
):
    colleague = make_user("manager")
    own = make_deal(partner, kind, manager=manager)
    helping = make_deal(partner, kind, manager=colleague, participants=[manager])
    foreign = make_deal(partner, kind, manager=colleague)
    offer = _stage(kind, "Offer").id
    login_as(manager)

    text = page_text(client.get(f"/deals/board?kind={kind.id}"))
    assert sorted(columns(text)["Lead"]["cards"]) == sorted([own.id, helping.id])
    assert f'data-move-url="/deals/{own.id}/move"' in text
    assert f'data-move-url="/deals/{helping.id}/move"' in text

    for deal in (own, helping):
        response = client.post(f"/deals/{deal.id}/move", data={"stage_id": offer, "version": 1})
        assert response.status_code == 302
        assert _reload(deal.id).stage.name == "Offer"

    response = client.post(
        f"/deals/{foreign.id}/move", data={"stage_id": offer, "next": "/deals/board"}
    )
    assert response.status_code == 302 and response.location.endswith("/deals/board")
    assert _reload(foreign.id).stage.name == "Lead"
    # Through the board it is refused with the message, nothing changed.
    response = client.post(
        f"/deals/{foreign.id}/move", data={"stage_id": offer, "next": "/deals/board"}, headers=HX
    )
    assert response.status_code == 403 and b"<html" not in response.data
    assert "Only the deal's manager, its participants or an admin can move it." in page_text(
        response
    )
    assert _reload(foreign.id).stage.name == "Lead"


def test_the_refusal_of_a_foreign_move_is_flashed(
    client, login_as, make_user, make_deal, partner, kind
):
    foreign = make_deal(partner, kind, manager=make_user("manager"))
    login_as("manager")
    response = client.post(
        f"/deals/{foreign.id}/move",
        data={"stage_id": _stage(kind, "Offer").id, "next": "/deals/board"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Only the deal's manager, its participants or an admin can move it." in page_text(
        response
    )


@pytest.mark.parametrize("role", ["viewer", "marketer"])
def test_viewers_and_marketers_read_the_board_but_cannot_move(
    client, login_as, make_deal, manager, partner, kind, role
):
    deal = make_deal(partner, kind, manager=manager)
    login_as(role)
    text = page_text(client.get(f"/deals/board?kind={kind.id}"))
    assert columns(text)["Lead"]["cards"] == [deal.id]
    assert "data-move-url" not in text and "/move" not in text
    offer = _stage(kind, "Offer").id
    response = client.post(f"/deals/{deal.id}/move", data={"stage_id": offer}, headers=HX)
    assert response.status_code == 403
    response = client.post(f"/deals/{deal.id}/lose", data={"loss_reason_id": "1"})
    assert response.status_code in (302, 403)
    assert _reload(deal.id).stage.name == "Lead" and _reload(deal.id).status == "open"


def test_an_admin_moves_anyones_deal(client, login_as, make_deal, manager, partner, kind):
    deal = make_deal(partner, kind, manager=manager)
    login_as("admin")
    response = client.post(
        f"/deals/{deal.id}/move",
        data={"stage_id": _stage(kind, "Offer").id, "version": 1},
        headers=HX,
    )
    assert response.status_code == 200
    assert _reload(deal.id).stage.name == "Offer"


# --- moves as full requests and as fragments --------------------------------------------------


def test_a_plain_move_redirects_to_next_with_a_message(
    client, login_as, make_deal, manager, partner, kind
):
    deal = make_deal(partner, kind, manager=manager, deal_no="D-77")
    login_as(manager)
    next_url = f"/deals/board?kind={kind.id}&manager=me"
    response = client.post(
        f"/deals/{deal.id}/move",
        data={"stage_id": _stage(kind, "Offer").id, "version": 1, "next": next_url},
    )
    assert response.status_code == 302 and response.location.endswith(next_url)
    text = page_text(client.get(next_url))
    assert "Deal D-77 moved to «Offer»." in text
    assert columns(text)["Offer"]["cards"] == [deal.id]
    deal = _reload(deal.id)
    assert deal.version == 2
    assert [(e.stage.name, e.left_at is None) for e in deal.history] == [
        ("Lead", False),
        ("Offer", True),
    ]

    # A next that leaves the site goes to the deal's card instead.
    for bad in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)", ""):
        response = client.post(
            f"/deals/{deal.id}/move",
            data={"stage_id": _stage(kind, "Offer").id, "next": bad},
        )
        assert response.status_code == 302 and response.location.endswith(f"/deals/{deal.id}")


def test_an_htmx_move_answers_the_board_body_with_the_card_in_its_new_column(
    client, login_as, make_deal, manager, partner, kind
):
    # The Offer column is full of older deals: the moved one is shown first all the same.
    older = [
        make_deal(
            partner,
            kind,
            manager=manager,
            stage="Offer",
            stage_entered_at=ago(50 + n),
            commit=False,
        )
        for n in range(31)
    ]
    db.session.commit()
    deal = make_deal(partner, kind, manager=manager, deal_no="D-1")
    login_as(manager)
    response = client.post(
        f"/deals/{deal.id}/move",
        data={
            "stage_id": _stage(kind, "Offer").id,
            "version": 1,
            "next": f"/deals/board?kind={kind.id}",
        },
        headers=HX,
    )
    assert response.status_code == 200 and b"<html" not in response.data
    assert response.headers["Vary"] == "HX-Request" or "HX-Request" in response.headers["Vary"]
    text = page_text(response)
    cols = columns(text)
    assert cols["Lead"]["cards"] == [] and cols["Lead"]["count"] == 0
    assert cols["Offer"]["count"] == 32 and cols["Offer"]["cards"][0] == deal.id
    assert len(cols["Offer"]["cards"]) == 31  # the moved one and the 30 oldest
    assert "is-moved" in text and "Deal D-1 moved to «Offer»." in text
    # Load more skips the deal shown first.
    more = re.search(r'<div class="board-more">\s*<a[^>]*href="([^"]+)"', text)[1].replace(
        "&amp;", "&"
    )
    rest = client.get(more, headers={"HX-Request": "true"})
    assert [int(n) for n in re.findall(r'id="deal-(\d+)"', page_text(rest))] == [older[0].id]


def test_a_skip_in_a_process_kind_is_refused_and_nothing_changes(
    client, login_as, make_deal, manager, partner, kind
):
    deal = make_deal(partner, kind, manager=manager)
    login_as(manager)
    contract = _stage(kind, "Contract").id
    response = client.post(
        f"/deals/{deal.id}/move",
        data={"stage_id": contract, "version": 1, "next": f"/deals/board?kind={kind.id}"},
        headers=HX,
    )
    assert response.status_code == 422 and b"<html" not in response.data
    text = page_text(response)
    message = (
        "The stages of «Поставка» go strictly in order: the next stage is «Offer», "
        "«Contract» cannot be skipped to."
    )
    assert message in text and "board-error" in text
    assert columns(text)["Lead"]["cards"] == [deal.id]
    deal = _reload(deal.id)
    assert deal.stage.name == "Lead" and deal.version == 1 and len(deal.history) == 1

    # As a plain post: back to the board with the message flashed.
    response = client.post(
        f"/deals/{deal.id}/move", data={"stage_id": contract, "next": "/deals/board"}
    )
    assert response.status_code == 302
    assert message in flashes(client)
    assert _reload(deal.id).stage.name == "Lead"


def test_a_non_process_kind_moves_freely(
    client, login_as, make_deal_kind, make_deal, manager, partner
):
    free = make_deal_kind(name="Свободная", stages=("One", "Two", "Three"), process=False)
    deal = make_deal(partner, free, manager=manager, stage="Three")
    login_as(manager)
    text = page_text(client.get(f"/deals/board?kind={free.id}"))
    assert f'id="stage-{deal.id}"' in text  # a stage select, not a "next stage" button
    response = client.post(
        f"/deals/{deal.id}/move", data={"stage_id": _stage(free, "One").id}, headers=HX
    )
    assert response.status_code == 200
    assert columns(page_text(response))["One"]["cards"] == [deal.id]


def test_win_and_lose_from_the_board(client, login_as, make_deal, manager, partner, kind):
    reason = LossReason(name="Дорого")
    db.session.add(reason)
    db.session.add(LossReason(name="Old reason", is_active=False))
    db.session.commit()
    at_contract = make_deal(
        partner, kind, manager=manager, stage="Contract", amount="500", deal_no="D-W"
    )
    at_lead = make_deal(partner, kind, manager=manager, amount="300", deal_no="D-L")
    login_as(manager)
    board = page_text(client.get(f"/deals/board?kind={kind.id}"))
    assert "Дорого" in board and "Old reason" not in board  # active reasons only

    # Lost needs a reason: refused and nothing changed.
    for bad in (
        "",
        "abc",
        "99999",
        str(db.session.query(LossReason).filter_by(name="Old reason").one().id),
    ):
        response = client.post(
            f"/deals/{at_lead.id}/lose", data={"loss_reason_id": bad, "version": 1}, headers=HX
        )
        assert response.status_code == 422
        assert "Choose the reason the deal was lost." in page_text(response)
        assert _reload(at_lead.id).status == "open"

    response = client.post(
        f"/deals/{at_lead.id}/lose",
        data={
            "loss_reason_id": reason.id,
            "comment": "Ушли к конкуренту",
            "closed_on": "2026-11-30",
            "version": 1,
        },
        headers=HX,
    )
    assert response.status_code == 200
    text = page_text(response)
    assert "Deal D-L is lost: Дорого." in text and at_lead.id not in columns(text)["Lead"]["cards"]
    lost = _reload(at_lead.id)
    assert (lost.status, lost.loss_reason.name, lost.loss_comment, lost.closed_on) == (
        "lost",
        "Дорого",
        "Ушли к конкуренту",
        date(2026, 11, 30),
    )

    # Won from the middle of a process is refused; from the last stage it goes through.
    early = make_deal(partner, kind, manager=manager, stage="Offer")
    response = client.post(f"/deals/{early.id}/win", data={}, headers=HX)
    assert response.status_code == 422 and "won from its last stage, «Contract»" in page_text(
        response
    )
    response = client.post(f"/deals/{at_contract.id}/win", data={"amount": "abc"}, headers=HX)
    assert response.status_code == 422 and _reload(at_contract.id).status == "open"
    response = client.post(
        f"/deals/{at_contract.id}/win",
        data={"amount": "450.5", "version": 1, "next": "/deals/board"},
    )
    assert response.status_code == 302
    assert "Deal D-W is won." in flashes(client)
    won = _reload(at_contract.id)
    assert won.status == "won" and won.amount == Decimal("450.50") and won.closed_on is not None

    # Reopened, it is back on its last stage's column.
    response = client.post(
        f"/deals/{at_contract.id}/reopen", data={"version": won.version}, headers=HX
    )
    assert response.status_code == 200 and "Deal D-W is open again." in page_text(response)
    assert at_contract.id in columns(page_text(response))["Contract"]["cards"]


def test_a_stale_version_is_refused(client, login_as, make_deal, manager, partner, kind):
    deal = make_deal(partner, kind, manager=manager, deal_no="D-S")
    login_as(manager)
    offer = _stage(kind, "Offer").id
    assert (
        client.post(f"/deals/{deal.id}/move", data={"stage_id": offer, "version": 1}).status_code
        == 302
    )
    contract = _stage(kind, "Contract").id
    response = client.post(
        f"/deals/{deal.id}/move", data={"stage_id": contract, "version": 1}, headers=HX
    )
    assert response.status_code == 409
    assert (
        "Someone else changed deal D-S after you opened it, so nothing was changed."
        in page_text(response)
    )
    assert _reload(deal.id).stage.name == "Offer"
    response = client.post(f"/deals/{deal.id}/lose", data={"loss_reason_id": "", "version": 1})
    assert response.status_code == 302  # refused (reason or version), flashed, nothing changed
    assert _reload(deal.id).status == "open"


def test_bad_ids_and_values_never_answer_500(
    client, login_as, make_deal_kind, make_deal, manager, partner, kind
):
    deal = make_deal(partner, kind, manager=manager)
    foreign_stage = make_deal_kind(stages=("Elsewhere",)).stages[0]
    login_as(manager)
    assert client.post("/deals/999999/move", data={"stage_id": 1}).status_code == 404
    assert client.post("/deals/99999999999999/move", data={"stage_id": 1}).status_code == 404
    cases = [
        ("move", {"stage_id": "abc"}, "Choose a stage of this kind of deal."),
        ("move", {"stage_id": "99999999999"}, "Choose a stage of this kind of deal."),
        (
            "move",
            {"stage_id": str(foreign_stage.id)},
            "That stage belongs to another kind of deal.",
        ),
        (
            "move",
            {"stage_id": str(_stage(kind, "Offer").id), "version": "x1"},
            "The form is damaged",
        ),
        (
            "move",
            {"stage_id": str(_stage(kind, "Offer").id), "version": "9" * 30},
            "The form is damaged",
        ),
        ("lose", {"loss_reason_id": "1" * 30}, "Choose the reason the deal was lost."),
        ("lose", {"loss_reason_id": "1", "closed_on": "31.31.2026"}, "Choose the reason"),
        ("win", {"closed_on": "not a date"}, "The stages of «Поставка» go strictly in order"),
    ]
    for verb, data, message in cases:
        response = client.post(f"/deals/{deal.id}/{verb}", data=data, headers=HX)
        assert response.status_code == 422, (verb, data)
        assert message in page_text(response), (verb, data)
    deal = _reload(deal.id)
    assert deal.stage.name == "Lead" and deal.status == "open" and deal.version == 1


def test_the_board_speaks_russian(client, login_as, make_deal, partner, kind):
    manager = login_as("manager", locale="ru")
    deal = make_deal(partner, kind, manager=manager, amount="1234.5", deal_no="D-RU")
    make_deal(partner, kind, manager=manager, amount="10", deal_no="D-RU2")
    text = page_text(client.get(f"/deals/board?kind={kind.id}"))
    assert "Доска сделок" in text and "2 сделки" in text and "1\N{NO-BREAK SPACE}244,50" in text
    response = client.post(
        f"/deals/{deal.id}/move", data={"stage_id": _stage(kind, "Offer").id}, headers=HX
    )
    text = page_text(response)
    assert "Сделка D-RU перенесена на этап «Offer»." in text and "1 сделка" in text


def test_stage_medians_are_read_by_index_as_the_median_of_the_days(
    app, make_deal_kind, make_deal, manager, partner, kind
):
    from crm.deals.board import column_medians

    flat = make_deal_kind(name="Без этапов", stages=(), process=False)
    # Lead: 1, 4, 4, 9 days → (4 + 4) / 2 = 4. Offer: 2, 7, 30 → 7. Contract: 5, 8 → 6.5.
    # The no-stage kind: 3 → 3. A won deal of Lead (100 days) does not count.
    for stage, days in [("Lead", (1, 4, 4, 9)), ("Offer", (2, 7, 30)), ("Contract", (5, 8))]:
        for n, d in enumerate(days):
            make_deal(partner, kind, manager=manager, stage=stage, stage_entered_at=ago(d, n))
    make_deal(partner, kind, manager=manager, status="won", stage_entered_at=ago(100))
    make_deal(partner, flat, manager=manager, stage_entered_at=ago(3))
    now = utcnow()
    assert column_medians(kind.id, now) == {
        _stage(kind, "Lead").id: 4.0,
        _stage(kind, "Offer").id: 7.0,
        _stage(kind, "Contract").id: 6.5,
    }
    assert column_medians(flat.id, now) == {None: 3.0}


def test_the_board_reads_a_fixed_number_of_queries_however_many_deals(
    app, client, login_as, make_user, make_deal, manager, partner, kind
):
    from sqlalchemy import event

    login_as(manager)
    helper = make_user("manager")
    statements = []

    def count(*args):
        statements.append(args[2])

    def board_queries():
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/deals/board?kind={kind.id}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    for stage in ("Lead", "Offer", "Contract"):
        make_deal(partner, kind, manager=manager, stage=stage, participants=[helper])
    few = board_queries()
    for n in range(12):
        stage = ("Lead", "Offer", "Contract")[n % 3]
        make_deal(partner, kind, manager=manager, stage=stage, participants=[helper], commit=False)
    db.session.commit()
    assert board_queries() == few


def test_an_htmx_post_from_another_page_is_sent_to_next(
    client, login_as, make_deal, manager, partner, kind
):
    deal = make_deal(partner, kind, manager=manager, deal_no="D-X")
    login_as(manager)
    response = client.post(
        f"/deals/{deal.id}/move",
        data={"stage_id": _stage(kind, "Offer").id, "next": f"/partners/{partner.id}"},
        headers={"HX-Request": "true", "HX-Target": "deal-card"},
    )
    assert response.status_code == 200 and response.data == b""
    assert response.headers["HX-Redirect"] == f"/partners/{partner.id}"
    assert "Deal D-X moved to «Offer»." in page_text(client.get(f"/partners/{partner.id}"))
