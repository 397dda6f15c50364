"""The partner card's header: "Call" on the main phone, debt and overdue debt, the last and
the next interaction, and "Log a call" / "Plan" — blocks other domains register
(crm/partners/card.py). Expected values are worked out by hand."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

from crm.core.timeutil import utcnow
from tests.factories import create_document, create_payment

HX = {"HX-Request": "true"}
NB = "\N{NO-BREAK SPACE}"


def header(client, partner_id: int) -> str:
    body = html.unescape(client.get(f"/partners/{partner_id}").get_data(as_text=True))
    start = body.index('id="partner-facts"')
    return body[start : body.index('<ul class="nav nav-tabs', start)]


def seed(make_partner, make_interaction, manager):
    p = make_partner(name="ООО Ромашка", responsible=manager, phones=["+7 912 345-67-89"])
    today = date.today()
    # 1000 due 30 days ago, 500 due in 10 days; 300 paid: debt 1200, overdue 700 (FIFO).
    create_document(
        p,
        [1000],
        doc_no="D-1",
        date=today - timedelta(days=60),
        due_date=today - timedelta(days=30),
    )
    create_document(
        p, [500], doc_no="D-2", date=today - timedelta(days=5), due_date=today + timedelta(days=10)
    )
    create_payment(p, 300, today - timedelta(days=20))
    now = utcnow().replace(second=0, microsecond=0)
    make_interaction(
        manager, partner=p, starts_at=now - timedelta(days=9), status="completed", title="Old"
    )
    last = make_interaction(
        manager, partner=p, starts_at=now - timedelta(days=2), status="completed", title="Last"
    )
    make_interaction(
        manager, partner=p, starts_at=now - timedelta(days=1), status="cancelled", title="Off"
    )
    upcoming = make_interaction(
        manager, kind="meeting", partner=p, starts_at=now + timedelta(days=3), title="Next"
    )
    make_interaction(manager, partner=p, starts_at=now + timedelta(days=5), title="Later")
    return p, last, upcoming


def test_the_header_shows_debt_last_and_next_and_one_tap_actions(
    client, login_as, make_user, make_partner, make_interaction
):
    manager = make_user("manager")
    p, last, upcoming = seed(make_partner, make_interaction, manager)
    login_as(manager)
    top = header(client, p.id)
    assert 'href="tel:+79123456789"' in top and "Call" in top
    assert re.search(r'id="fact-debt"[^>]*>₽1,200.00<', top)
    assert 'id="fact-overdue">overdue ₽700.00<' in top
    assert (
        f'href="/interactions/{last.id}">' in top and f'href="/interactions/{upcoming.id}">' in top
    )
    assert f'href="/interactions/log?partner_id={p.id}"' in top
    assert f"/interactions/new?partner_id={p.id}&kind=planned" in top
    # A tab switch swaps the tab's body only: no header in the fragment.
    fragment = client.get(f"/partners/{p.id}?tab=contacts", headers=HX).get_data(as_text=True)
    assert 'id="partner-facts"' not in fragment


def test_readers_get_the_facts_without_the_buttons(
    client, login_as, make_user, make_partner, make_interaction
):
    manager = make_user("manager")
    p, _, _ = seed(make_partner, make_interaction, manager)
    login_as("viewer")
    top = header(client, p.id)
    assert "fact-debt" in top and "fact-last" in top
    assert "fact-log-call" not in top and "fact-plan" not in top


def test_a_partner_without_history(client, login_as, make_user, make_partner):
    manager = make_user("manager")
    p = make_partner(name="Новый", responsible=manager, phones=["+7 912 000-00-01"])
    login_as(manager)
    top = header(client, p.id)
    assert re.search(r'id="fact-debt"[^>]*>₽0.00<', top) and "fact-overdue" not in top
    assert '<span id="fact-last">—</span>' in top
    assert '<span id="fact-next">not planned</span>' in top


def test_the_header_in_russian(client, login_as, make_user, make_partner, make_interaction):
    manager = make_user("manager", locale="ru")
    p, last, upcoming = seed(make_partner, make_interaction, manager)
    login_as(manager)
    top = header(client, p.id)
    assert "Позвонить" in top and "Записать звонок" in top and "Запланировать" in top
    assert re.search(rf'id="fact-debt"[^>]*>1{NB}200,00{NB}₽<', top)
    assert f'id="fact-overdue">просрочено 700,00{NB}₽<' in top
    local = last.starts_at + timedelta(hours=3)  # Moscow
    assert f"{local:%d.%m.%Y}" in top
    nxt = upcoming.starts_at + timedelta(hours=3)
    assert f"{nxt:%d.%m.%Y %H:%M} · Встреча" in top or f"{nxt:%d.%m.%Y %H:%M} · Meeting" in top
