"""No page scrolls sideways: every page of the navigation, a partner card with each tab, each
calendar view and each form, at a phone's 390×844 and a desktop's 1280×800, in Russian (the
longer words) — `scrollWidth` of the document never exceeds the viewport. Screenshots of each
page go to test-artifacts/overflow/ to be looked at."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tests.browser.fixtures import log_in
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SIZES = [(390, 844), (1280, 800)]

# How far the page is wider than the window (0: it fits), and the widest offenders.
MEASURE = """() => {
  const doc = document.documentElement;
  const over = doc.scrollWidth - window.innerWidth;
  const wide = [];
  if (over > 0) {
    for (const el of document.querySelectorAll("body *")) {
      const r = el.getBoundingClientRect();
      if (r.right > window.innerWidth + 1 && r.width > 0) {
        wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
                  (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
                  " right=" + Math.round(r.right));
      }
      if (wide.length >= 5) break;
    }
  }
  // A table in a scrolling box is not a page overflow, but on a desktop it must not be cut.
  const cut = [];
  for (const box of document.querySelectorAll(".report-table, .table-responsive")) {
    if (box.scrollWidth > box.clientWidth + 1) cut.push((box.id || box.className) + " " + box.scrollWidth + ">" + box.clientWidth);
  }
  return {over: over, wide: wide, cut: cut};
}"""


def _seed() -> dict:
    from crm.auth.models import User
    from crm.extensions import db
    from tests.factories import (
        create_deal,
        create_deal_kind,
        create_document,
        create_interaction,
        create_partner,
        create_payment,
    )

    admin = User(
        email="wide-admin@example.test",
        role="admin",
        name="Анна Администраторова",
        timezone="Europe/Moscow",
        locale="ru",
    )
    admin.set_password(DEFAULT_PASSWORD)
    db.session.add(admin)
    db.session.flush()
    partner = create_partner(
        name="Общество с ограниченной ответственностью «Торговый дом Северо-Западные стройматериалы»",
        code="WIDE-1",
        responsible=admin,
        emails=["very.long.address.of.the.purchasing.department@example-company-name.test"],
        phones=["+7 912 345-67-89"],
        commit=False,
        persons=[{"name": "Константин Константинопольский", "email": "konstantin@example.test"}],
    )
    today = date.today()
    for n in range(3):
        create_document(
            partner,
            [125000.5, 99999.99],
            doc_no=f"РН-000000{n}",
            date=today - timedelta(days=90 + n),
            due_date=today - timedelta(days=60 + n),
            commit=False,
        )
    create_payment(partner, 400, today - timedelta(days=50), commit=False)
    now = datetime.utcnow().replace(second=0, microsecond=0)
    for hours in (-30, -2, 3, 26, 72):
        create_interaction(
            admin,
            kind="meeting",
            starts_at=now + timedelta(hours=hours),
            partner=partner,
            commit=False,
            title="Переговоры по долгосрочному договору поставки стройматериалов",
            duration_minutes=60,
        )
    db.session.flush()
    kind = create_deal_kind(
        name="Комплексная поставка строительных материалов",
        stages=("Квалификация потребностей", "Коммерческое предложение", "Согласование договора"),
        commit=False,
    )
    deal = create_deal(
        partner,
        kind,
        manager=admin,
        stage=2,
        commit=False,
        title="Поставка стройматериалов для строительства логистического комплекса",
        amount="123456789.99",
        participants=[admin],
    )
    create_deal(partner, kind, manager=admin, status="lost", loss_reason="Выбрали конкурента",
                commit=False, created_on=today - timedelta(days=40),
                closed_on=today - timedelta(days=10))  # fmt: skip
    db.session.flush()
    return {"email": admin.email, "partner": partner.id, "deal": deal.id, "kind": kind.id}


def _deal_pages(deal_id: int, kind_id: int) -> list[str]:
    return [
        "/deals/",
        f"/deals/{deal_id}",
        "/deals/new",
        f"/deals/{deal_id}/edit",
        f"/deals/board?kind={kind_id}",
        f"/deals/reports/funnel?kind={kind_id}",
        "/deals/reports/effectiveness",
        "/deals/reports/forecast",
        "/deals/settings/kinds",
        f"/deals/settings/kinds/{kind_id}",
        "/deals/settings/roles",
        "/deals/settings/loss-reasons",
    ]


def _analytics_pages() -> list[str]:
    # `now=1`: the results drawn into the page, as the overflow is measured once it loaded.
    return [
        "/analytics/",
        "/analytics/abc-xyz?now=1",
        "/analytics/abc-xyz?of=partners&cell=all&now=1",
        "/analytics/bcg?now=1",
        "/analytics/transitions?now=1",
        "/analytics/kpi?now=1",
        "/analytics/kpi/clients?which=active",
        "/analytics/snapshots",
    ]


def _pages(partner_id: int) -> list[str]:
    tabs = ["summary", "contacts", "history", "interactions", "purchases", "deals"]
    calendar = [f"/interactions/calendar?view={v}" for v in ("month", "week", "day", "agenda")]
    return [
        "/",
        "/partners/",
        *[f"/partners/{partner_id}?tab={t}" for t in tabs],
        "/partners/new",
        f"/partners/{partner_id}/edit",
        f"/partners/{partner_id}/persons/new",
        f"/partners/{partner_id}/merge",
        "/partners/duplicates",
        "/partners/reports/contacts",
        "/interactions/",
        "/interactions/?responsible=me&unprocessed=1",
        "/interactions/new",
        "/interactions/log",
        *calendar,
        "/sales/receivables",
        "/sales/products/",
        f"/partners/{partner_id}?tab=analytics",
        *_analytics_pages(),
        "/exchange/",
        "/notifications/",
        "/auth/account",
        "/auth/users",
    ]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_no_page_scrolls_sideways(live_server, browser_page, artifacts_dir, width, height):
    seeded = live_server.seed(_seed) if not hasattr(live_server, "_wide") else live_server._wide
    live_server._wide = seeded
    page = browser_page(width, height, locale="ru-RU")
    log_in(page, seeded["email"], DEFAULT_PASSWORD)
    shots = artifacts_dir / "overflow"
    shots.mkdir(exist_ok=True)
    too_wide = []
    for url in _pages(seeded["partner"]) + _deal_pages(seeded["deal"], seeded["kind"]):
        response = page.goto(url)
        assert response.status == 200, f"{url}: {response.status}"
        page.wait_for_load_state("networkidle")
        found = page.evaluate(MEASURE)
        name = (
            url.strip("/").replace("/", "_").replace("?", "_").replace("=", "-").replace("&", "_")
        )
        page.screenshot(path=str(shots / f"{width}-{name or 'home'}.png"), full_page=True)
        if found["over"] > 0:
            too_wide.append(f"{url}: {found['over']} px too wide: {found['wide']}")
        if width >= 1280 and found["cut"]:
            too_wide.append(f"{url}: a table is cut: {found['cut']}")
    assert too_wide == [], "\n".join(too_wide)
