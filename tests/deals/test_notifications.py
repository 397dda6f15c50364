"""Deal notices: the responsible manager is told once when an open deal's expected close date
has passed (again when a moved date passes), and once per stay in a stage when a deal became
stale (more days in its stage than twice the median of the stage's open deals); in his
language, with a link to the deal, e-mailed as the reminders are. Medians and dates below are
worked out by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, select

from crm.core.timeutil import utcnow
from crm.deals import stages
from crm.deals.jobs import send_deal_notices
from crm.extensions import db
from crm.notifications.models import Notification
from crm.notifications.producers import producers
from tests.notifications import helpers

smtp_inbox = helpers.smtp_inbox

NOW = datetime(2026, 11, 28, 10, 0)  # UTC: 13:00 on 28.11.2026 in Moscow, the users' zone
LATER = date(2027, 1, 31)  # an expected close date that has not passed


def notices() -> set[tuple]:
    db.session.expire_all()
    rows = db.session.execute(
        select(Notification.user_id, Notification.key, Notification.title, Notification.url)
    ).all()
    return {tuple(r) for r in rows}


def days_ago(n: float, now: datetime = NOW) -> datetime:
    return now - timedelta(days=n)


@pytest.fixture
def manager(make_user):
    return make_user("manager", email="ivanov@example.test", name="Ivan Ivanov", locale="en")


@pytest.fixture
def romashka(make_partner, manager):
    return make_partner(name="ООО Ромашка", responsible=manager)


@pytest.fixture
def kind(make_deal_kind):
    return make_deal_kind(name="Supply", stages=("Lead", "Offer", "Contract"))


def test_the_producer_is_registered(app):
    assert "deal-notices" in {p.key for p in producers(app)}


# --- expected close date passed ---------------------------------------------------------------


def test_a_passed_expected_close_date_is_told_once(app, manager, romashka, kind, make_deal):
    def deal(**kw):
        kw.setdefault("stage_entered_at", days_ago(1))
        return make_deal(romashka, kind, manager, **kw)

    passed = deal(deal_no="CRM-000001", title="Forklifts", expected_close=date(2026, 11, 27))
    deal(expected_close=date(2026, 11, 28))  # today: not passed yet
    deal(status="won", expected_close=date(2026, 11, 1), closed_on=date(2026, 11, 20))
    deal(status="lost", loss_reason="Too expensive", expected_close=date(2026, 11, 1))
    make_deal(romashka, kind, None, expected_close=date(2026, 11, 20))  # nobody responsible
    # Passed 31 days ago: older than the look-back, never announced (a deploy's first run).
    deal(expected_close=date(2026, 10, 28))
    within = deal(expected_close=date(2026, 10, 29))  # 30 days ago: still announced

    first = send_deal_notices(now=NOW)
    second = send_deal_notices(now=NOW + timedelta(hours=5))

    m = manager.id
    assert notices() == {
        (
            m,
            f"deal:{passed.id}:overdue:2026-11-27",
            "Expected close date passed: CRM-000001 — Forklifts, ООО Ромашка",
            f"/deals/{passed.id}",
        ),
        (
            m,
            f"deal:{within.id}:overdue:2026-10-29",
            f"Expected close date passed: {within.deal_no}, ООО Ромашка",
            f"/deals/{within.id}",
        ),
    }
    assert first == {"overdue": 2, "stale": 0, "notified": 2, "emailed": 0}
    assert second == {"overdue": 0, "stale": 0, "notified": 0, "emailed": 0}
    body = db.session.execute(
        select(Notification.body).where(Notification.key.like(f"deal:{passed.id}:%"))
    ).scalar_one()
    assert body == "Expected close: 27 Nov 2026\nStage: Lead\nAmount: ₽1,000.00"


def test_a_moved_expected_close_date_is_told_again_when_it_passes(
    app, manager, romashka, kind, make_deal
):
    deal = make_deal(
        romashka, kind, manager, expected_close=date(2026, 11, 27), stage_entered_at=days_ago(1)
    )
    send_deal_notices(now=NOW)
    deal.expected_close = date(2026, 12, 5)
    db.session.commit()

    send_deal_notices(now=NOW)  # moved into the future: nothing to tell
    assert len(notices()) == 1
    send_deal_notices(now=datetime(2026, 12, 5, 20, 0))  # 23:00 on the 5th in Moscow: not yet
    assert len(notices()) == 1
    send_deal_notices(now=datetime(2026, 12, 5, 21, 0))  # 00:00 on the 6th in Moscow: passed

    assert {key for _, key, _, _ in notices()} == {
        f"deal:{deal.id}:overdue:2026-11-27",
        f"deal:{deal.id}:overdue:2026-12-05",
    }


def test_the_date_passes_at_midnight_in_the_managers_zone(
    app, make_user, make_partner, kind, make_deal
):
    moscow = make_user("manager", timezone="Europe/Moscow")
    london = make_user("manager", timezone="Europe/London")
    partner = make_partner()
    at_moscow = make_deal(partner, kind, moscow, expected_close=date(2026, 11, 28))
    make_deal(partner, kind, london, expected_close=date(2026, 11, 28))

    # 22:00 UTC on the 28th: the 29th in Moscow, still the 28th in London.
    send_deal_notices(now=datetime(2026, 11, 28, 22, 0))

    assert {(user, key) for user, key, _, _ in notices()} == {
        (moscow.id, f"deal:{at_moscow.id}:overdue:2026-11-28")
    }


def test_only_the_responsible_active_manager_is_told(app, make_user, make_partner, kind, make_deal):
    a = make_user("manager")
    b = make_user("manager")
    colleague = make_user("manager")  # takes part in a's deal: he is not told
    gone = make_user("manager", active=False)
    admin = make_user("admin")
    partner = make_partner(responsible=a)
    of_a = make_deal(partner, kind, a, participants=[colleague], expected_close=date(2026, 11, 2))
    of_b = make_deal(partner, kind, b, expected_close=date(2026, 11, 3))
    make_deal(partner, kind, gone, expected_close=date(2026, 11, 4))

    send_deal_notices(now=NOW)

    assert {(user, key) for user, key, _, _ in notices()} == {
        (a.id, f"deal:{of_a.id}:overdue:2026-11-02"),
        (b.id, f"deal:{of_b.id}:overdue:2026-11-03"),
    }
    assert colleague.id not in {user for user, *_ in notices()}
    assert admin.id not in {user for user, *_ in notices()}


# --- stale deals ----------------------------------------------------------------------------


def test_a_stale_deal_is_told_by_the_median_of_its_stage_over_open_deals(
    app, manager, romashka, kind, make_deal
):
    def deal(stage, days, who=manager, **kw):
        return make_deal(
            romashka,
            kind,
            who,
            stage=stage,
            expected_close=LATER,
            stage_entered_at=days_ago(days),
            **kw,
        )

    # Offer, open: 1, 2, 3, 6, 10 days and an unmanaged 30 → median (3 + 6) / 2 = 4.5, limit 9.
    for days in (1, 2, 3, 6):
        deal("Offer", days)
    stale = deal("Offer", 10, deal_no="CRM-000010", title="Racks", amount="150000")
    deal("Offer", 30, who=None)  # stale too, but nobody to tell
    # Closed deals of the stage do not count (with them the median would be 6 and 10 fine).
    deal("Offer", 100, status="lost", loss_reason="No budget")
    deal("Offer", 100, status="lost", loss_reason="No budget")
    deal("Offer", 100, status="lost", loss_reason="No budget")
    # Lead: 20, 20, 20 days, median 20: nobody stale (pooled with Offer, 10 would not be).
    for _ in range(3):
        deal("Lead", 20)

    result = send_deal_notices(now=NOW)

    entered = days_ago(10).isoformat(timespec="seconds")
    offer = next(s for s in kind.stages if s.name == "Offer")
    assert notices() == {
        (
            manager.id,
            f"deal:{stale.id}:stale:{offer.id}:{entered}",
            "Deal stalled at «Offer»: CRM-000010 — Racks, ООО Ромашка",
            f"/deals/{stale.id}",
        )
    }
    assert result["stale"] == 1
    body = db.session.execute(select(Notification.body)).scalar_one()
    assert body == (
        "Days in the stage: 10, more than twice the stage's median of 4.5.\nAmount: ₽150,000.00"
    )


def test_a_stale_deal_is_told_once_per_stay_in_a_stage(app, manager, romashka, kind, make_deal):
    now = utcnow()

    def deal(stage, days, at=now):
        return make_deal(
            romashka,
            kind,
            manager,
            stage=stage,
            expected_close=LATER,
            stage_entered_at=days_ago(days, at),
        )

    # Lead: 1, 2, 3 and 20 days → median 2.5, limit 5: the 20-day deal is stale.
    slow = deal("Lead", 20)
    for days in (1, 2, 3):
        deal("Lead", days)
    offers = [deal("Offer", days) for days in (1, 2, 3)]

    send_deal_notices(now=now)
    send_deal_notices(now=now + timedelta(hours=2))
    assert len(notices()) == 1

    stages.move(manager, slow, next(s.id for s in kind.stages if s.name == "Offer"))
    db.session.commit()
    send_deal_notices(now=now + timedelta(hours=3))  # a new stay of 0 days: not stale
    assert len(notices()) == 1

    # 15 days on: the deals that were at Offer closed, three new ones came 1, 2, 3 days ago →
    # Offer's open deals 1, 2, 3 and 15 days, median 2.5: the slow deal is stale again.
    later = now + timedelta(days=15, hours=3)
    for d in offers:
        d.status, d.closed_on = "won", later.date()
    for days in (1, 2, 3):
        deal("Offer", days, at=later)
    db.session.commit()
    send_deal_notices(now=later)
    send_deal_notices(now=later + timedelta(hours=1))

    keys = sorted(key for _, key, _, _ in notices())
    assert len(keys) == 2
    assert all(k.startswith(f"deal:{slow.id}:stale:") for k in keys)
    titles = {title for *_, title, _ in notices()}
    assert titles == {
        f"Deal stalled at «Lead»: {slow.deal_no}, ООО Ромашка",
        f"Deal stalled at «Offer»: {slow.deal_no}, ООО Ромашка",
    }


# --- language, e-mail, queries ------------------------------------------------------------


def test_notices_are_written_in_the_managers_language(
    app, make_user, make_partner, kind, make_deal
):
    ru = make_user("manager", locale="ru")
    en = make_user("manager", locale="en")
    partner = make_partner(name="ООО Ромашка")
    for who, no in ((ru, "CRM-000001"), (en, "CRM-000002")):
        make_deal(partner, kind, who, stage="Offer", deal_no=no, title="Погрузчики",
                  amount="150000", expected_close=date(2026, 11, 27),
                  stage_entered_at=days_ago(30))  # fmt: skip
        for days in (1, 2):
            make_deal(partner, kind, who, stage="Offer", expected_close=LATER,
                      stage_entered_at=days_ago(days))  # fmt: skip
    # Offer: 1, 1, 2, 2, 30, 30 days → median 2, limit 4: the two 30-day deals are stale.

    send_deal_notices(now=NOW)

    db.session.expire_all()
    told = {
        (user, title, body)
        for user, title, body in db.session.execute(
            select(Notification.user_id, Notification.title, Notification.body)
        )
    }
    assert told == {
        (
            ru.id,
            "Прошла ожидаемая дата закрытия: CRM-000001 — Погрузчики, ООО Ромашка",
            "Ожидаемая дата закрытия: 27.11.2026\nЭтап: Offer\nСумма: 150\xa0000,00\xa0₽",
        ),
        (
            ru.id,
            "Сделка зависла на этапе «Offer»: CRM-000001 — Погрузчики, ООО Ромашка",
            "Дней на этапе: 30 — больше удвоенной медианы этапа (2).\nСумма: 150\xa0000,00\xa0₽",
        ),
        (
            en.id,
            "Expected close date passed: CRM-000002 — Погрузчики, ООО Ромашка",
            "Expected close: 27 Nov 2026\nStage: Offer\nAmount: ₽150,000.00",
        ),
        (
            en.id,
            "Deal stalled at «Offer»: CRM-000002 — Погрузчики, ООО Ромашка",
            "Days in the stage: 30, more than twice the stage's median of 2.\nAmount: ₽150,000.00",
        ),
    }


def test_notices_are_e_mailed_once_with_a_link_to_the_deal(
    app, manager, romashka, kind, make_deal, smtp_inbox
):
    deal = make_deal(romashka, kind, manager, deal_no="CRM-000007", title="Forklifts",
                     expected_close=date(2026, 11, 27), stage_entered_at=days_ago(1))  # fmt: skip

    first = send_deal_notices(now=NOW)
    second = send_deal_notices(now=NOW)

    assert (first["emailed"], second["emailed"]) == (1, 0)
    assert len(smtp_inbox.messages) == 1
    _, recipients, msg = smtp_inbox.messages[0]
    assert recipients == ["ivanov@example.test"]
    assert msg["Subject"] == "Expected close date passed: CRM-000007 — Forklifts, ООО Ромашка"
    text = msg.get_content()
    assert f"Open in the CRM: https://crm.example.test/deals/{deal.id}" in text


def test_a_run_reads_candidates_in_one_query_whatever_their_number(
    app, make_user, make_partner, kind, make_deal
):
    """No query per deal: a repeated run (everything told already) reads the open deals once,
    the stage medians once per stage and the notifications once per manager, for 4 deals as
    for 40."""
    a, b = make_user("manager"), make_user("manager")
    partner = make_partner()

    def statements_of_a_second_run(n: int) -> int:
        for i in range(n):
            make_deal(partner, kind, (a, b)[i % 2], expected_close=date(2026, 11, 20),
                      stage_entered_at=days_ago(1), commit=False)  # fmt: skip
        db.session.commit()
        send_deal_notices(now=NOW)
        seen = []

        def count(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append(statement)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert send_deal_notices(now=NOW)["notified"] == 0
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    few = statements_of_a_second_run(4)
    many = statements_of_a_second_run(36)
    # The open deals, the open deals' count per stage and the middle stay of their one stage
    # (crm.deals.stale.stage_medians), then the told keys of each of the two managers.
    assert few == many <= 5
