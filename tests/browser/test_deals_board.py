"""The pipeline board in headless Chromium against a live server with CSRF and the real
Content-Security-Policy: on a laptop a manager drags a deal to the next stage (and sees it there
after a reload), and a skip is refused on the board; on a phone he moves a deal with its button
and marks another lost with a reason."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import assert_clean, log_in, watch_page
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _seed(tag: str) -> dict:
    from crm.auth.models import User
    from crm.deals.models import LossReason
    from crm.extensions import db
    from tests.factories import create_deal, create_deal_kind, create_partner

    user = User(email=f"board-{tag}@example.test", role="manager", name=f"Board {tag}")
    user.set_password(DEFAULT_PASSWORD)
    db.session.add(user)
    db.session.flush()
    partner = create_partner(name=f"ООО Воронка {tag}", responsible=user, commit=False)
    kind = create_deal_kind(
        name=f"Поставка {tag}", stages=("Lead", "Offer", "Contract"), commit=False
    )
    reason = db.session.query(LossReason).filter_by(name="Too expensive").one_or_none()
    if reason is None:
        reason = LossReason(name="Too expensive")
        db.session.add(reason)
    deals = [
        create_deal(
            partner, kind, manager=user, deal_no=f"{tag}-{n}", title=f"Deal {n}", commit=False
        )
        for n in (1, 2)
    ]
    deals.append(
        create_deal(partner, kind, manager=user, stage="Contract", deal_no=f"{tag}-3", commit=False)
    )
    db.session.flush()
    return {
        "email": user.email,
        "kind_id": kind.id,
        "stages": {s.name: s.id for s in kind.stages},
        "deals": [d.id for d in deals],
    }


def _state(deal_id: int) -> tuple:
    from crm.deals.models import Deal
    from crm.extensions import db

    deal = db.session.get(Deal, deal_id)
    return (
        deal.stage.name if deal.stage else None,
        deal.status,
        deal.loss_reason.name if deal.loss_reason else None,
        deal.loss_comment,
    )


def _column(page, stage_id: int):
    return page.locator(f"#column-{stage_id}")


def test_laptop_drags_a_deal_to_the_next_stage(live_server, browser_page, artifacts_dir):
    seeded = live_server.seed(_seed, "desk")
    stages, (first, second, third) = seeded["stages"], seeded["deals"]
    page = watch_page(browser_page(1280, 800))
    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    page.goto(f"/deals/board?kind={seeded['kind_id']}")
    page.wait_for_load_state("load")
    expect(_column(page, stages["Lead"]).locator(f"#deal-{first}")).to_be_visible()

    page.locator(f"#deal-{first}").drag_to(_column(page, stages["Offer"]))
    expect(_column(page, stages["Offer"]).locator(f"#deal-{first}")).to_be_visible()
    expect(page.locator("#board-message")).to_contain_text("moved to «Offer»")
    expect(_column(page, stages["Offer"]).locator(".board-count")).to_have_text("1 deal")
    expect(_column(page, stages["Lead"]).locator(f"#deal-{first}")).to_have_count(0)
    assert_clean(page, "deals board (laptop), after the move")

    # A skip from Lead to Contract is refused on the board; the card stays where it was.
    page.locator(f"#deal-{second}").drag_to(_column(page, stages["Contract"]))
    expect(page.locator("#board-message .board-error")).to_contain_text(
        "the next stage is «Offer», «Contract» cannot be skipped to"
    )
    expect(_column(page, stages["Lead"]).locator(f"#deal-{second}")).to_be_visible()
    # The refusal is a 422 answer, which Chromium and htmx report on the console: those two
    # lines and nothing else.
    assert len(page.console_errors) == 2, page.console_errors
    assert all("422" in line for line in page.console_errors), page.console_errors
    page.console_errors.clear()

    # Dropped on "Won" (shown once the drag has begun), the deal at the last stage is won.
    box = page.locator(f"#deal-{third}").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 40, box["y"] + 60, steps=5)
    won = page.locator(".board-drop-won")
    expect(won).to_be_visible()
    target = won.bounding_box()
    page.mouse.move(target["x"] + 30, target["y"] + 20, steps=5)
    page.mouse.up()
    expect(page.locator("#board-message")).to_contain_text("desk-3 is won")
    expect(page.locator(f"#deal-{third}")).to_have_count(0)
    expect(won).to_be_hidden()

    page.reload()
    expect(_column(page, stages["Offer"]).locator(f"#deal-{first}")).to_be_visible()
    expect(_column(page, stages["Lead"]).locator(f"#deal-{second}")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "deals-board-laptop.png"), full_page=True)
    assert live_server.seed(_state, first)[:2] == ("Offer", "open")
    assert live_server.seed(_state, second)[:2] == ("Lead", "open")
    assert live_server.seed(_state, third)[:2] == ("Contract", "won")
    assert_clean(page, "deals board (laptop)")


def test_phone_moves_a_deal_with_its_button_and_marks_one_lost(
    live_server, browser_page, artifacts_dir
):
    seeded = live_server.seed(_seed, "phone")
    stages, (first, second, third) = seeded["stages"], seeded["deals"]
    page = watch_page(browser_page(390, 844))
    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    page.goto(f"/deals/board?kind={seeded['kind_id']}")
    page.wait_for_load_state("load")

    button = page.locator(f"#deal-{first} .board-next")
    expect(button).to_have_text("→ Offer")
    box = button.bounding_box()
    assert box["height"] >= 44, box
    button.click()
    expect(_column(page, stages["Offer"]).locator(f"#deal-{first}")).to_be_visible()
    expect(page.locator("#board-message")).to_contain_text("moved to «Offer»")

    card = page.locator(f"#deal-{second}")
    card.locator("details.board-lost summary").click()
    card.get_by_label("Reason for the loss").select_option(label="Too expensive")
    card.get_by_label("Comment").fill("Нашли дешевле")
    card.get_by_role("button", name="Mark lost").click()
    expect(page.locator("#board-message")).to_contain_text("is lost: Too expensive")
    expect(page.locator(f"#deal-{second}")).to_have_count(0)

    # The deal at the last stage is won with the amount agreed.
    card = page.locator(f"#deal-{third}")
    card.locator("details.board-won summary").click()
    card.get_by_label("Amount won").fill("950")
    card.get_by_role("button", name="Mark won").click()
    expect(page.locator("#board-message")).to_contain_text("phone-3 is won")
    expect(page.locator(f"#deal-{third}")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts_dir / "deals-board-phone.png"), full_page=True)

    assert live_server.seed(_state, first)[:2] == ("Offer", "open")
    assert live_server.seed(_state, second) == (
        "Lead",
        "lost",
        "Too expensive",
        "Нашли дешевле",
    )
    assert live_server.seed(_state, third)[:2] == ("Contract", "won")
    assert_clean(page, "deals board (phone)")
