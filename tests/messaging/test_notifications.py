"""How notification events become messages whatever their kind: whom they reach (the consent
rule of the group, suppression, opt-outs, "do not e-mail"), in whose language, a kind a later
domain registers, two producers racing, and the periodic job and command that run them.
Expected messages are written out by hand."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from crm.core.client_notifications import (
    CLIENT_NOTIFICATION_KINDS,
    ClientNotificationKind,
    KindParam,
    Occurrence,
    notify_client,
)
from crm.core.periodic import periodic_jobs
from crm.extensions import db
from crm.messaging import notification_services
from crm.messaging.models import (
    GroupOptOut,
    MessageTemplateText,
    Subscriber,
    Suppression,
)
from crm.messaging.notification_services import produce_scheduled
from tests.factories import create_partner

LONG_AGO = datetime(2020, 1, 1)
KEY = "order_status:1:paid"
EVENT = {"document_id": 1, "status": "paid", "previous_status": "shipped"}


@pytest.fixture
def shop(app):
    """A partner with its own e-mail and two contact persons with theirs."""
    return create_partner(
        name="Ромашка",
        emails=["shop@romashka.test"],
        persons=[
            {"name": "Анна", "email": "anna@romashka.test"},
            {"name": "Борис", "email": "boris@romashka.test"},
        ],
    )


def test_a_service_notice_needs_no_consent_but_suppression_and_opt_outs_hold(
    shop, make_template, make_group, switch_on, notices
):
    group = make_group("Service", "service")
    switch_on("order_status", make_template(text="Уведомление"), group, LONG_AGO)
    db.session.add(
        Suppression(channel="email", address_norm="anna@romashka.test", reason="bounced")
    )
    db.session.add(
        GroupOptOut(group_id=group.id, channel="email", address_norm="boris@romashka.test")
    )
    db.session.commit()

    notify_client("order_status", KEY, shop.id, EVENT)
    db.session.commit()

    assert [a for _k, a, *_ in notices()] == ["shop@romashka.test"]


def test_a_notice_of_an_advertising_group_needs_consent_and_carries_the_unsubscribe_link(
    shop, make_template, make_group, switch_on, notices
):
    template, group = make_template(text="Уведомление"), make_group("Promo", "advertising")
    switch_on("order_status", template, group, LONG_AGO)
    db.session.add(
        Subscriber(
            channel="email",
            address="anna@romashka.test",
            address_norm="anna@romashka.test",
            consent=True,
            consent_source="test",
        )
    )
    db.session.commit()

    notify_client("order_status", KEY, shop.id, EVENT)
    db.session.commit()

    (message,) = notices()
    assert message[1] == "anna@romashka.test"
    assert "/m/u/" in message[4]


def test_a_partner_marked_do_not_email_gets_no_notice_nor_do_its_contacts(
    app, make_template, make_group, switch_on, notices
):
    partner = create_partner(
        emails=["quiet@x.test"], persons=[{"name": "Q", "email": "q@x.test"}], do_not_email=True
    )
    template, group = make_template(text="Уведомление"), make_group("Service notices", "service")
    switch_on("order_status", template, group, LONG_AGO)

    notify_client("order_status", KEY, partner.id, EVENT)
    notify_client(
        "order_status", "order_status:1:cancelled", partner.id, EVENT,
        contact_person_id=partner.contact_persons[0].id,
    )  # fmt: skip
    db.session.commit()

    assert notices() == []


def test_each_address_gets_the_notice_in_its_language(
    shop, make_template, make_group, switch_on, notices
):
    template = make_template(text="Заказ оплачен")
    template.texts.append(MessageTemplateText(language="en", subject="Paid", body_text="Paid"))
    db.session.add(
        Subscriber(
            channel="email",
            address="boris@romashka.test",
            address_norm="boris@romashka.test",
            language="en",
        )
    )
    db.session.commit()
    switch_on("order_status", template, make_group("Service notices", "service"), LONG_AGO)

    notify_client("order_status", KEY, shop.id, EVENT)
    db.session.commit()

    assert [(a, body) for _k, a, _p, _c, body in notices()] == [
        ("anna@romashka.test", "Заказ оплачен"),
        ("boris@romashka.test", "Paid"),
        ("shop@romashka.test", "Заказ оплачен"),
    ]


def test_an_event_of_a_kind_nobody_registered_sends_nothing(shop, notices):
    notify_client("no_such_kind", "no_such_kind:1", shop.id, {})
    db.session.commit()

    assert notices() == []


def test_a_kind_without_a_template_sends_nothing(shop, make_group, switch_on, notices):
    switch_on("order_status", None, make_group("Service notices", "service"), LONG_AGO)

    notify_client("order_status", KEY, shop.id, EVENT)
    db.session.commit()

    assert notices() == []


# --- a kind of a later domain ------------------------------------------------------------------


@pytest.fixture
def claims_domain(app, monkeypatch):
    """A later domain (claims) registering two kinds on a copy of the registry: a scheduled
    one listing closed claims (hand-made: claim 7 of the partner closed on 05.03, claim 8 on
    15.03) and an on-event one. `seen` keeps the parameters its producer was given."""
    seen = []
    closed = []  # (claim id, partner id, closed at)

    def produce(params, since, now):
        seen.append(params)
        for claim, partner_id, at in closed:
            if since <= at <= now:
                yield Occurrence(f"claim_closed:{claim}", partner_id, None, {"claim_id": claim})

    registry = CLIENT_NOTIFICATION_KINDS.of(app).copy()
    registry.add(
        ClientNotificationKind(
            "claim_closed",
            "Claim closed",
            "Sent when a claim is closed.",
            params=(KindParam("days_to_answer", "Days to answer", 5, 1, 30),),
            produce=produce,
            order=90,
        )
    )
    registry.add(ClientNotificationKind("claim_opened", "Claim opened", order=91))
    monkeypatch.setitem(app.extensions, CLIENT_NOTIFICATION_KINDS.name, registry)
    return {"seen": seen, "closed": closed}


def test_a_kind_a_later_domain_registers_is_produced_with_its_parameters(
    shop, claims_domain, make_template, make_group, switch_on, notices
):
    claims_domain["closed"].extend(
        [(7, shop.id, datetime(2026, 3, 5)), (8, shop.id, datetime(2026, 3, 15))]
    )
    template, group = make_template(text="Уведомление"), make_group("Service notices", "service")
    switch_on("claim_closed", template, group, datetime(2026, 3, 10))

    assert produce_scheduled(datetime(2026, 3, 20)) == {"claim_closed": 3}
    assert produce_scheduled(datetime(2026, 3, 21)) == {"claim_closed": 0}

    assert claims_domain["seen"] == [{"days_to_answer": 5}, {"days_to_answer": 5}]
    assert [(k, a) for k, a, *_ in notices("claim_closed")] == [
        ("claim_closed:8", "anna@romashka.test"),
        ("claim_closed:8", "boris@romashka.test"),
        ("claim_closed:8", "shop@romashka.test"),
    ]


def test_an_on_event_kind_of_a_later_domain_is_sent_to_a_contact_person(
    shop, claims_domain, make_template, make_group, switch_on, notices
):
    anna = next(p for p in shop.contact_persons if p.name == "Анна")
    template, group = make_template(text="Уведомление"), make_group("Service notices", "service")
    switch_on("claim_opened", template, group, LONG_AGO)

    notify_client("claim_opened", "claim_opened:3", shop.id, {"claim_id": 3}, anna.id)
    db.session.commit()

    assert [(k, a, c) for k, a, _p, c, _b in notices()] == [
        ("claim_opened:3", "anna@romashka.test", anna.id)
    ]


# --- two producers at once ---------------------------------------------------------------------


def test_two_producers_running_at_once_notify_each_address_once(
    app, shop, claims_domain, make_template, make_group, switch_on, notices, monkeypatch
):
    """Both runs find the event not notified yet before either writes: the outbox's unique
    (event key, channel, address) lets only one of them write it."""
    claims_domain["closed"].append((8, shop.id, datetime(2026, 3, 15)))
    template, group = make_template(text="Уведомление"), make_group("Service notices", "service")
    switch_on("claim_closed", template, group, datetime(2026, 3, 10))
    both_looked = threading.Barrier(2, timeout=30)
    real_check = notification_services._already_notified

    def check_then_wait(keys, channel):
        found = real_check(keys, channel)
        both_looked.wait()
        return found

    monkeypatch.setattr(notification_services, "_already_notified", check_then_wait)
    results, failures = [], []

    def run():
        try:
            with app.app_context():
                results.append(produce_scheduled(datetime(2026, 3, 20)))
                db.session.remove()
        except Exception as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert failures == []
    # One run wrote the three messages; the other nothing (or, on SQLite, gave up on the lock
    # and rolled back: its kind is then missing from its counts).
    assert sorted(r.get("claim_closed", 0) for r in results) == [0, 3]
    assert [a for _k, a, *_ in notices()] == [
        "anna@romashka.test",
        "boris@romashka.test",
        "shop@romashka.test",
    ]


# --- the periodic job and the command ----------------------------------------------------------


def test_the_periodic_job_runs_every_ten_minutes_and_produces_the_scheduled_kinds(
    app, shop, claims_domain, make_template, make_group, switch_on, notices
):
    claims_domain["closed"].append((8, shop.id, datetime(2026, 3, 15)))
    template, group = make_template(text="Уведомление"), make_group("Service notices", "service")
    switch_on("claim_closed", template, group, datetime(2026, 3, 10))
    (job,) = [j for j in periodic_jobs(app) if j.key == "messaging-notifications"]

    assert job.interval == 600
    assert job.func() == {"claim_closed": 3}
    assert job.func() == {"claim_closed": 0}
    assert len(notices()) == 3


def test_the_notify_command_writes_the_due_notices(
    app, runner, shop, claims_domain, make_template, make_group, switch_on, notices
):
    claims_domain["closed"].append((8, shop.id, datetime(2026, 3, 15)))
    template, group = make_template(text="Уведомление"), make_group("Service notices", "service")
    switch_on("claim_closed", template, group, datetime(2026, 3, 10))

    result = runner.invoke(args=["crm", "messaging", "notify"])

    assert result.exit_code == 0, result.output
    assert "claim_closed: 3 message(s)" in result.output
    assert len(notices()) == 3
