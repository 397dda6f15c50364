"""Delivery of mailings through a real SMTP server (aiosmtpd on 127.0.0.1), in this process
(no Redis: the sending thread): who is reached, what each e-mail carries, retries, refusals,
bounces, the journal of interactions, cancelled mailings, the rate limit. Expected recipients
are worked out from the rules the data were made by (tests.messaging.delivery_helpers)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.interactions.models import Interaction
from crm.messaging import claims, delivery, jobs, runners, tokens
from crm.messaging.jobs import dispatch, start_mailing_now
from crm.messaging.models import Mailing, Message, Suppression
from tests.core.helpers import wait_until
from tests.factories import create_partner
from tests.messaging.delivery_helpers import (
    consent,
    make_mailing,
    make_population,
    new_group,
    new_template,
    start_unsent,
    states,
)


def _send_all(timeout=60):
    """Kick the sending thread and wait for it (the caller returns at once)."""
    runners.kick()
    assert runners.wait_for_sending_thread(timeout=timeout)
    db.session.expire_all()


def test_a_mailing_to_a_segment_reaches_each_consenting_contact_exactly_once(
    app, make_user, mail_server
):
    marketer = make_user("marketer")
    manager = make_user("manager")
    pop = make_population(2000, manager_id=manager.id)
    template = new_template()
    group = new_group("advertising")
    mailing = make_mailing(template, group, segment_id=pop.segment_id, created_by=marketer)

    run = start_mailing_now(mailing, marketer)  # JOBS_INLINE: the start job runs here
    assert run.status == "done", run.message
    assert runners.wait_for_sending_thread(timeout=120)
    db.session.expire_all()

    received = mail_server.recipients()
    assert Counter(received).most_common(1)[0][1] == 1  # nobody twice
    assert set(received) == pop.expected
    mailing = db.session.get(Mailing, mailing.id)
    assert mailing.state == "done" and mailing.finished_at is not None
    assert mailing.total == len(pop.expected)
    assert {k: v for k, v in mailing.skipped.items() if v} == pop.skipped
    assert states(mailing.id) == {"sent": len(pop.expected)}
    # Each e-mail carries its message's own Message-ID.
    stored = dict(
        db.session.execute(
            select(Message.address_norm, Message.rfc_message_id).where(
                Message.mailing_id == mailing.id
            )
        ).all()
    )
    assert {rcpt: mid for rcpt, mid, _m in mail_server.accepted} == stored


def test_kick_without_redis_sends_on_a_background_thread_not_in_the_caller(
    app, make_user, mail_server
):
    partner = create_partner(emails=["a@example.test"])
    consent("a@example.test")
    mailing = make_mailing(new_template(), new_group(), partners=[partner])

    mail_server.gate = threading.Event()  # the server holds the message until the test opens
    start_mailing_now(mailing, make_user("marketer"))
    # The start job kicked: the caller is back while the message waits at the server.
    assert db.session.execute(select(Message.state)).scalar_one() in ("queued", "sending")
    sender = next(t for t in threading.enumerate() if t.name == "crm-messaging-sender")
    assert sender is not threading.current_thread()
    mail_server.gate.set()
    assert runners.wait_for_sending_thread(timeout=30)
    db.session.expire_all()
    assert db.session.execute(select(Message.state)).scalar_one() == "sent"
    assert mail_server.recipients() == ["a@example.test"]


def _one_partner_mailing(address="a@example.test", group_kind="advertising", **template):
    partner = create_partner(name="ООО Ромашка", emails=[address])
    consent(address)
    mailing = make_mailing(new_template(**template), new_group(group_kind), partners=[partner])
    return partner, mailing


def _start(mailing, make_user):
    """The start job, run here (JOBS_INLINE); then the sending thread it kicked, waited for."""
    run = start_mailing_now(mailing, make_user("marketer"))
    assert run.status == "done", run.message
    assert runners.wait_for_sending_thread(timeout=60)
    db.session.expire_all()
    return run


def test_an_email_carries_its_message_id_unsubscribe_headers_and_both_bodies(
    app, make_user, mail_server
):
    partner, mailing = _one_partner_mailing(subject="Осенние скидки")
    _start(mailing, make_user)

    message = db.session.execute(select(Message)).scalar_one()
    email = mail_server.last_to("a@example.test")
    assert email["Message-ID"] == message.rfc_message_id
    assert email["From"] == "Shop <news@shop.example.test>"
    assert email["To"] == "a@example.test"
    assert email["Subject"] == "Осенние скидки"
    assert email["Content-Language"] == "ru"
    assert email.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in email.iter_parts()}
    assert "Hello!" in parts["text/plain"] and "<p>Hello!</p>" in parts["text/html"]
    # One-click unsubscribe (RFC 8058) on a marketing e-mail, to this message's own link.
    url = email["List-Unsubscribe"].strip("<>")
    assert url.startswith("https://crm.example.test/m/u/")
    assert tokens.read("unsubscribe", url.rpartition("/")[2]) == (
        tokens.key_of(message.rfc_message_id),
        None,
    )
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_service_notification_has_no_unsubscribe_header_and_a_text_only_body(app, mail_server):
    from crm.core.message_placeholders import Recipient
    from crm.messaging.compose import compose
    from crm.messaging.outbox import store

    partner = create_partner(emails=["b@example.test"])
    template = new_template(html="", text="Ваш заказ отгружен.")
    group = new_group("service")
    recipient = Recipient(partner.id, None, "email", "b@example.test", "b@example.test", "ru")
    composed = compose(template, [recipient], group=group, kind="order_status")
    store(composed, "email", group_id=group.id, kind="order_status", event_keys=["order:1"])
    db.session.commit()
    _send_all()

    email = mail_server.last_to("b@example.test")
    assert email["List-Unsubscribe"] is None
    assert email.get_content_type() == "text/plain"
    assert email.get_content().strip() == "Ваш заказ отгружен."


def test_temporary_errors_are_retried_with_backoff_then_sent(app, make_user, mail_server):
    app.config.update(MESSAGING_RETRY_SECONDS=0.3, MESSAGING_MAX_ATTEMPTS=5)
    mail_server.temporary["a@example.test"] = 2  # 451 twice, then accepted
    _partner, mailing = _one_partner_mailing()
    run = start_unsent(app, mailing, make_user("marketer"))
    assert run.status == "done"

    for attempt, delay in ((1, 0.3), (2, 0.6)):
        before = utcnow()
        delivery.send_batch("email")
        after = utcnow()
        db.session.expire_all()
        message = db.session.execute(select(Message)).scalar_one()
        assert (message.state, message.attempts) == ("queued", attempt)
        assert message.error.startswith("451 4.7.1")
        assert before + timedelta(seconds=delay) <= message.next_attempt_at
        assert message.next_attempt_at <= after + timedelta(seconds=delay)
        assert delivery.send_batch("email").claimed == 0  # not due yet
        wait_until(lambda: claims.claimable("email", 1), timeout=10, what="the retry time")

    delivery.send_batch("email")
    db.session.expire_all()
    message = db.session.execute(select(Message)).scalar_one()
    assert (message.state, message.attempts, message.error) == ("sent", 3, "")
    assert mail_server.recipients() == ["a@example.test"]
    assert db.session.get(Mailing, mailing.id).state == "done"


def test_a_message_failing_temporarily_too_often_fails_with_the_last_reason(
    app, make_user, mail_server
):
    app.config.update(MESSAGING_RETRY_SECONDS=0.05, MESSAGING_MAX_ATTEMPTS=2)
    mail_server.temporary["a@example.test"] = 10
    _partner, mailing = _one_partner_mailing()
    _start(mailing, make_user)
    wait_until(
        lambda: (
            dispatch(inline=True) is not None
            and db.session.execute(select(Message.state)).scalar_one() == "failed"
        ),
        timeout=20,
        what="the message to fail",
    )
    message = db.session.execute(select(Message)).scalar_one()
    assert message.attempts == 2 and message.error.startswith("451 4.7.1 Greylisted")
    assert mail_server.recipients() == []
    assert db.session.get(Mailing, mailing.id).state == "done"


def test_a_permanent_refusal_fails_the_message_with_the_servers_reason(app, make_user, mail_server):
    mail_server.reject.add("a@example.test")
    _partner, mailing = _one_partner_mailing()
    _start(mailing, make_user)

    message = db.session.execute(select(Message)).scalar_one()
    assert (message.state, message.attempts) == ("failed", 1)
    assert message.error == "554 5.6.0 Message content rejected"
    assert db.session.execute(select(Suppression)).first() is None  # not the address's fault


def test_a_refused_address_is_bounced_suppressed_and_skipped_by_a_later_mailing(
    app, make_user, mail_server
):
    mail_server.refuse.add("gone@example.test")
    partner = create_partner(emails=["gone@example.test"])
    other = create_partner(emails=["ok@example.test"])
    consent("gone@example.test")
    consent("ok@example.test")
    template, group = new_template(), new_group()
    first = make_mailing(template, group, partners=[partner, other])
    _start(first, make_user)

    by_address = dict(db.session.execute(select(Message.address_norm, Message.state)).all())
    assert by_address == {"gone@example.test": "bounced", "ok@example.test": "sent"}
    suppression = db.session.execute(select(Suppression)).scalar_one()
    assert (suppression.address_norm, suppression.reason) == ("gone@example.test", "bounced")
    assert suppression.note.startswith("550 5.1.1")

    second = make_mailing(template, group, partners=[partner, other], name="Winter")
    _start(second, make_user)
    second = db.session.get(Mailing, second.id)
    assert second.skipped["suppressed"] == 1 and second.total == 1
    assert mail_server.recipients() == ["ok@example.test", "ok@example.test"]


def test_each_sent_email_is_an_interaction_in_the_partners_history(app, make_user, mail_server):
    from crm.interactions.queries import partner_history

    manager = make_user("manager")
    partner = create_partner(
        name="ООО Ромашка",
        responsible=manager,
        emails=["office@example.test"],
        persons=[{"name": "Анна Петрова", "email": "anna@example.test"}],
    )
    consent("office@example.test")
    consent("anna@example.test")
    mailing = make_mailing(new_template(subject="Осенние скидки"), new_group(), partners=[partner])
    _start(mailing, make_user)

    history, _more = partner_history(manager, partner.id)
    assert [(i.kind, i.direction, i.status, i.title) for i in history] == [
        ("email", "outgoing", "completed", "Осенние скидки")
    ] * 2
    assert {i.address for i in history} == {"office@example.test", "anna@example.test"}
    assert all(i.responsible_id == manager.id for i in history)
    anna = next(i for i in history if i.address == "anna@example.test")
    assert [p.contact_person.name for p in anna.participants] == ["Анна Петрова"]
    assert anna.contact_person.name == "Анна Петрова"
    assert anna.subject_text == "Autumn"  # the mailing's name
    linked = dict(db.session.execute(select(Message.address_norm, Message.interaction_id)).all())
    assert linked["anna@example.test"] == anna.id
    assert anna.chain_id == anna.id and anna.due_at is None
    message = db.session.execute(
        select(Message).where(Message.address_norm == "anna@example.test")
    ).scalar_one()
    assert anna.starts_at == message.sent_at == anna.completed_at


def test_a_partner_without_a_manager_is_journaled_under_the_mailings_author(
    app, make_user, mail_server
):
    author = make_user("admin")
    partner, mailing = _one_partner_mailing()
    mailing.created_by_id = author.id
    db.session.commit()
    _start(mailing, make_user)
    interaction = db.session.execute(select(Interaction)).scalar_one()
    assert (interaction.partner_id, interaction.responsible_id) == (partner.id, author.id)


def test_a_marketers_mailing_is_journaled_under_the_first_user_who_may_own_records(
    app, make_user, mail_server
):
    first_owner = make_user("manager")
    make_user("admin")
    marketer = make_user("marketer")  # may not own records (crm.auth.policy)
    partner, mailing = _one_partner_mailing()
    mailing.created_by_id = marketer.id
    db.session.commit()
    _start(mailing, make_user)
    interaction = db.session.execute(select(Interaction)).scalar_one()
    assert (interaction.partner_id, interaction.responsible_id) == (partner.id, first_owner.id)


def test_messages_of_a_cancelled_mailing_are_never_sent(app, make_user, mail_server):
    partner = create_partner(emails=["a@example.test"])
    consent("a@example.test")
    mailing = make_mailing(new_template(), new_group(), partners=[partner])
    start_unsent(app, mailing, make_user("marketer"))
    db.session.get(Mailing, mailing.id).state = "cancelled"
    db.session.commit()

    assert delivery.send_batch("email").claimed == 0
    assert dispatch(inline=True)["cancelled"] == 1
    assert db.session.execute(select(Message.state)).scalar_one() == "cancelled"
    assert mail_server.recipients() == []
    # A cancelled mailing is never started again either.
    assert jobs.start_due() == 0


def test_a_mailing_is_done_only_once_all_its_messages_are_made_and_processed(
    app, make_user, mail_server
):
    from crm.core.message_placeholders import Recipient
    from crm.messaging.compose import compose
    from crm.messaging.outbox import store

    partner, mailing = _one_partner_mailing()
    # A start that stored the first message and has not finished making the rest.
    db.session.get(Mailing, mailing.id).state = "sending"
    recipient = Recipient(partner.id, None, "email", "a@example.test", "a@example.test", "ru")
    template = db.session.get(Mailing, mailing.id).template
    store(compose(template, [recipient]), "email", mailing_id=mailing.id)
    db.session.commit()

    assert delivery.send_batch("email").sent == 1
    db.session.expire_all()
    assert db.session.get(Mailing, mailing.id).state == "sending"  # total still unknown
    db.session.get(Mailing, mailing.id).total = 1
    db.session.commit()
    assert delivery.close_finished() == 1
    assert delivery.close_finished() == 0  # exactly once
    mailing = db.session.get(Mailing, mailing.id)
    assert mailing.state == "done" and mailing.finished_at is not None


def test_a_start_that_died_half_way_resumes_without_making_a_message_twice(
    app, make_user, mail_server
):
    from crm.core.message_placeholders import Recipient
    from crm.messaging.compose import compose
    from crm.messaging.outbox import store

    addresses = [f"r{i}@example.test" for i in range(5)]
    partners = [create_partner(emails=[a]) for a in addresses]
    for a in addresses:
        consent(a)
    mailing = make_mailing(new_template(), new_group(), partners=partners)
    # What the dead start had stored: the first two, and the mailing already "sending".
    db.session.get(Mailing, mailing.id).state = "sending"
    template = db.session.get(Mailing, mailing.id).template
    done = [
        Recipient(p.id, None, "email", a, a, "ru")
        for p, a in zip(partners[:2], addresses[:2], strict=True)
    ]
    store(compose(template, done), "email", mailing_id=mailing.id)
    db.session.commit()
    early_ids = dict(db.session.execute(select(Message.address_norm, Message.rfc_message_id)).all())

    from crm.messaging.jobs import start_due

    assert start_due() == 1  # the dispatcher resumes it (JOBS_INLINE: run here)
    assert runners.wait_for_sending_thread(timeout=60)
    db.session.expire_all()
    assert sorted(mail_server.recipients()) == addresses
    for address, message_id in early_ids.items():
        assert mail_server.message_ids(address) == [message_id]
    mailing = db.session.get(Mailing, mailing.id)
    assert (mailing.state, mailing.total) == ("done", 5)


def test_a_deleted_segment_keeps_the_mailing_scheduled_and_fails_its_start_with_the_reason(
    app, make_user, mail_server
):
    from crm.messaging.jobs import start_due
    from crm.segments.services import create_segment, delete_segment

    marketer = make_user("marketer")
    segment = create_segment(
        None, "Москва", "dynamic", {"type": "partner.city", "cities": ["Москва"]}
    )
    db.session.commit()
    mailing = make_mailing(new_template(), new_group(), segment_id=segment.id)
    delete_segment(None, segment)
    db.session.commit()

    run = start_mailing_now(mailing, marketer)
    assert run.status == "failed"
    assert run.message.startswith("The mailing cannot start:")
    assert db.session.get(Mailing, mailing.id).state == "scheduled"
    assert start_due() == 0  # not tried again every minute


def test_the_dispatcher_starts_due_mailings_only(app, mail_server):
    from crm.messaging.jobs import start_due

    _partner, due = _one_partner_mailing("due@example.test")
    partner = create_partner(emails=["later@example.test"])
    consent("later@example.test")
    later = make_mailing(new_template(name="t2"), new_group(name="g2"), partners=[partner])
    later.scheduled_at = utcnow() + timedelta(hours=1)
    db.session.commit()

    assert start_due() == 1
    assert start_due() == 0  # idempotent: it is sending now
    assert runners.wait_for_sending_thread(timeout=30)
    db.session.expire_all()
    assert db.session.get(Mailing, due.id).state == "done"
    assert db.session.get(Mailing, later.id).state == "scheduled"
    assert mail_server.recipients() == ["due@example.test"]


def test_the_dispatch_command_sends_in_its_own_process_without_redis(app, runner, mail_server):
    _partner, mailing = _one_partner_mailing()
    result = runner.invoke(args=["crm", "messaging", "dispatch"])
    assert result.exit_code == 0, result.output
    assert "Mailings started: 1" in result.output and "messages sent here: 1" in result.output
    db.session.expire_all()
    assert mail_server.recipients() == ["a@example.test"]
    assert db.session.get(Mailing, mailing.id).state == "done"


def test_an_unreachable_server_gets_the_batch_back_untried(app, make_user, mail_server):
    from tests.messaging.delivery_helpers import free_port

    _partner, mailing = _one_partner_mailing()
    start_unsent(app, mailing, make_user("marketer"))
    app.config.update(SMTP_PORT=free_port(), MESSAGING_RETRY_SECONDS=60)  # nobody listens
    before = utcnow()
    result = delivery.send_batch("email")
    assert result.unavailable and result.sent == 0
    db.session.expire_all()
    message = db.session.execute(select(Message)).scalar_one()
    assert (message.state, message.attempts) == ("queued", 0)
    assert message.error.startswith("SMTP 127.0.0.1:")
    assert message.next_attempt_at >= before + timedelta(seconds=60)


def test_a_message_whose_worker_died_is_sent_again_with_the_same_message_id(
    app, make_user, mail_server
):
    app.config.update(MESSAGING_LEASE_SECONDS=1)
    _partner, mailing = _one_partner_mailing()
    start_unsent(app, mailing, make_user("marketer"))
    # A worker claimed it and died: nothing recorded, its lease runs out.
    claimed = claims.claim("email", 10, "dead-host:1:1:1")
    assert [m.address for m in claimed] == ["a@example.test"]
    assert delivery.send_batch("email").claimed == 0  # leased: not taken while it lasts
    wait_until(lambda: claims.claimable("email", 1), timeout=10, what="the lease to run out")
    assert delivery.send_batch("email").sent == 1
    db.session.expire_all()
    message = db.session.execute(select(Message)).scalar_one()
    assert (message.state, message.attempts) == ("sent", 2)
    assert mail_server.message_ids("a@example.test") == [message.rfc_message_id]


def test_a_message_whose_workers_keep_dying_fails_after_the_attempts(app, make_user, mail_server):
    app.config.update(MESSAGING_LEASE_SECONDS=1, MESSAGING_MAX_ATTEMPTS=2)
    _partner, mailing = _one_partner_mailing()
    start_unsent(app, mailing, make_user("marketer"))
    for n in (1, 2):
        wait_until(lambda: claims.claimable("email", 1), timeout=10, what="claimable")
        assert len(claims.claim("email", 10, f"dead-host:{n}:1:1")) == 1
    wait_until(lambda: jobs.release_stuck()["failed"] == 1, timeout=10, what="the message to fail")
    message = db.session.execute(select(Message)).scalar_one()
    assert message.state == "failed" and "interrupted" in message.error
    assert mail_server.recipients() == []


def test_the_rate_limit_holds_messages_to_the_set_pace(app, make_user, mail_server):
    app.config.update(MESSAGING_RATE_EMAIL=20, MESSAGING_BATCH=100)
    addresses = [f"r{i:02d}@example.test" for i in range(45)]
    partners = [create_partner(emails=[a]) for a in addresses]
    for a in addresses:
        consent(a)
    mailing = make_mailing(new_template(), new_group(), partners=partners)
    start_unsent(app, mailing, make_user("marketer"))
    started = time.monotonic()
    assert delivery.send_batch("email").sent == 45
    # 20 a second: 45 messages need three one-second windows, so more than a second.
    assert time.monotonic() - started > 1.0
    assert len(mail_server.recipients()) == 45


def test_an_sms_goes_through_the_gateway_and_is_journaled_with_its_first_words(app, make_user):
    import pytest

    pytest.importorskip("crm.messaging.backends.sms", reason="the SMS gateway (helper H6)")
    app.config.update(SMS_BACKEND="console", MESSAGING_RATE_SMS=0)
    manager = make_user("manager")
    partner = create_partner(name="ИП Иванов", phones=["+7 912 345-67-89"], responsible=manager)
    consent("+79123456789", channel="sms")
    text = "Скидка 20% на всё до воскресенья в магазинах сети Ромашка по карте клиента"
    mailing = make_mailing(new_template("sms", text=text), new_group(), partners=[partner])
    _start(mailing, make_user)

    message = db.session.execute(select(Message)).scalar_one()
    assert (message.state, message.address_norm) == ("sent", "+79123456789")
    interaction = db.session.get(Interaction, message.interaction_id)
    assert (interaction.kind, interaction.partner_id) == ("sms", partner.id)
    assert interaction.responsible_id == manager.id
    assert interaction.title == "Скидка 20% на всё до воскресенья в магазинах …"


def test_a_mailing_cancelled_while_its_batch_is_sent_stops_within_ten_messages(
    app, make_user, mail_server
):
    from sqlalchemy import create_engine, update

    addresses = [f"r{i:02d}@example.test" for i in range(30)]
    partners = [create_partner(emails=[a]) for a in addresses]
    for a in addresses:
        consent(a)
    mailing = make_mailing(new_template(), new_group(), partners=partners)
    start_unsent(app, mailing, make_user("marketer"))
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    table, mailing_id = Mailing.__table__, mailing.id

    def cancel_at_the_third(rcpt):  # the user presses "Cancel" while the batch is on its way
        if rcpt == "r02@example.test":
            with engine.begin() as conn:
                conn.execute(
                    update(table).where(table.c.id == mailing_id).values(state="cancelled")
                )

    mail_server.on_accept = cancel_at_the_third
    try:
        result = delivery.send_batch("email")
    finally:
        engine.dispose()
    assert result.claimed == 30
    counts = states(mailing.id)
    assert 3 <= counts["sent"] <= 10 and counts["sent"] + counts["cancelled"] == 30
    assert len(mail_server.recipients()) == counts["sent"]
