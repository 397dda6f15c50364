"""The SMS gateway's hooks: replies (STOP suppresses the number and withdraws its consent, once;
other replies go to the owning partner's history) and delivery reports (the right message
delivered or failed), refused without the shared token and on malformed input, with nothing
changed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.core.models import AuditEntry
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.interactions.models import Interaction
from crm.messaging.models import Message, Subscriber, Suppression
from tests.factories import create_partner

HOOK_TOKEN = "hook-secret-Ω"  # not ASCII: the comparison works on bytes
NUMBER = "+79161234567"


@pytest.fixture
def hooks(app, client):
    app.config["SMS_WEBHOOK_TOKEN"] = HOOK_TOKEN

    def post(path, payload=None, *, token=HOOK_TOKEN, bearer=False, data=None):
        headers = {}
        if token is not None:
            # HTTP carries bytes; WSGI hands them over as latin-1 text.
            raw = token.encode().decode("latin-1")
            if bearer:
                headers["Authorization"] = f"Bearer {raw}"
            else:
                headers["X-Webhook-Token"] = raw
        if data is not None:
            return client.post(path, data=data, headers=headers, content_type="application/json")
        return client.post(path, json=payload, headers=headers)

    return post


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _state() -> tuple:
    """Everything a hook may change, to compare before and after a refused one."""
    db.session.expire_all()
    return (
        [
            (s.channel, s.address_norm, s.reason)
            for s in db.session.execute(select(Suppression)).scalars()
        ],
        [
            (s.address_norm, s.consent, s.withdrawn_at, s.withdrawn_source)
            for s in db.session.execute(select(Subscriber)).scalars()
        ],
        [
            (m.id, m.state, m.delivered_at, m.error)
            for m in db.session.execute(select(Message).order_by(Message.id)).scalars()
        ],
        _count(Interaction),
        _count(AuditEntry),
    )


# --- STOP ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "  stop \n",
        "Stop!",
        "СТОП",
        "стоп.",
        "«СТОП»",
        "ОТПИСКА",
        "Отписка!!!",
        "unsubscribe",
        "UNSUBSCRIBE :)",
        "CTOП",  # Latin C, T, O and a Cyrillic П: two keyboard layouts
    ],
)
def test_stop_replies_suppress_the_number_and_withdraw_its_consent(hooks, text):
    response = hooks("/m/sms/inbound", {"from": "8 (916) 123-45-67", "text": text})

    assert response.status_code == 200, response.json
    assert response.json == {"action": "stopped", "changed": True}
    [suppressed] = db.session.execute(select(Suppression)).scalars()
    assert (suppressed.channel, suppressed.address_norm, suppressed.reason) == (
        "sms",
        NUMBER,
        "stop",
    )
    [subscriber] = db.session.execute(select(Subscriber)).scalars()
    assert (subscriber.channel, subscriber.address_norm, subscriber.consent) == (
        "sms",
        NUMBER,
        False,
    )
    assert subscriber.withdrawn_source == "SMS STOP"
    assert subscriber.withdrawn_at is not None


def test_stop_withdraws_a_given_consent_once_and_a_repeat_changes_nothing(hooks):
    given = utcnow().replace(microsecond=0)
    db.session.add(
        Subscriber(
            channel="sms",
            address=NUMBER,
            address_norm=NUMBER,
            consent=True,
            consent_at=given,
            consent_source="paper form",
            language="en",
        )
    )
    db.session.commit()
    before = utcnow()

    first = hooks("/m/sms/inbound", {"from": NUMBER, "text": "STOP"})
    db.session.expire_all()
    [subscriber] = db.session.execute(select(Subscriber)).scalars()
    withdrawn_at = subscriber.withdrawn_at
    state = _state()
    second = hooks("/m/sms/inbound", {"from": "+7 916 123 45 67", "text": "стоп"})

    assert first.json == {"action": "stopped", "changed": True}
    assert second.status_code == 200
    assert second.json == {"action": "stopped", "changed": False}
    assert _state() == state  # nothing more: one suppression, one withdrawal, no new audit
    assert subscriber.consent is False
    assert (subscriber.consent_at, subscriber.consent_source) == (given, "paper form")
    assert subscriber.language == "en"
    assert before <= withdrawn_at <= utcnow()
    assert subscriber.withdrawn_source == "SMS STOP"
    audit = db.session.execute(
        select(
            AuditEntry.object_type, AuditEntry.action, AuditEntry.user_id, AuditEntry.changes
        ).order_by(AuditEntry.id)
    ).all()
    # Through the consent services: recorded as the consent's history reads it.
    assert audit == [
        (
            "messaging_suppression",
            "suppress",
            None,
            {"address": [None, NUMBER], "reason": [None, "stop"], "note": [None, "SMS STOP"]},
        ),
        (
            "messaging_subscriber",
            "consent_withdrawn",
            None,
            {
                "consent": [True, False],
                "withdrawn_at": [None, withdrawn_at.isoformat()],
                "withdrawn_source": ["", "SMS STOP"],
            },
        ),
    ]


def test_stop_keeps_an_existing_suppression_as_it_was(hooks):
    db.session.add(Suppression(channel="sms", address_norm=NUMBER, reason="bounced", note="550"))
    db.session.commit()

    response = hooks("/m/sms/inbound", {"from": NUMBER, "text": "STOP"})

    assert response.json == {"action": "stopped", "changed": True}  # the consent row is new
    db.session.expire_all()
    [suppressed] = db.session.execute(select(Suppression)).scalars()
    assert (suppressed.reason, suppressed.note) == ("bounced", "550")


def test_stop_of_an_e_mail_address_with_the_same_text_is_not_touched(hooks):
    # The e-mail channel's suppression of some address stays apart from the SMS one.
    db.session.add(Suppression(channel="email", address_norm=NUMBER, reason="manual"))
    db.session.commit()

    hooks("/m/sms/inbound", {"from": NUMBER, "text": "STOP"})

    rows = db.session.execute(
        select(Suppression.channel, Suppression.reason).order_by(Suppression.channel)
    ).all()
    assert rows == [("email", "manual"), ("sms", "stop")]


# --- other replies -------------------------------------------------------------------------


def test_another_reply_goes_into_the_owning_partners_history_for_its_manager(hooks, make_user):
    manager = make_user("manager")
    partner = create_partner(name="ООО Ромашка", responsible=manager, phones=["+7 916 123-45-67"])
    create_partner(name="Other", responsible=manager, phones=["+7 916 000-00-00"])

    response = hooks("/m/sms/inbound", {"from": "89161234567", "text": "Stop by tomorrow?"})

    assert response.json == {"action": "recorded", "changed": True}
    assert _count(Suppression) == 0 and _count(Subscriber) == 0
    [reply] = db.session.execute(select(Interaction)).scalars()
    assert (reply.kind, reply.direction, reply.status) == ("sms", "incoming", "completed")
    assert (reply.partner_id, reply.contact_person_id) == (partner.id, None)
    assert (reply.responsible_id, reply.address, reply.description) == (
        manager.id,
        "89161234567",
        "Stop by tomorrow?",
    )
    assert reply.follow_up_at is not None and reply.due_at == reply.follow_up_at  # to answer


def test_a_reply_from_a_contact_persons_phone_names_the_person(hooks, make_user):
    manager = make_user("manager")
    partner = create_partner(
        responsible=manager, persons=[{"name": "Анна", "phone": "+7 916 123-45-67"}]
    )

    hooks("/m/sms/inbound", {"from": NUMBER, "text": "Спасибо, получили"})

    [reply] = db.session.execute(select(Interaction)).scalars()
    assert (reply.partner_id, reply.contact_person_id) == (
        partner.id,
        partner.contact_persons[0].id,
    )


@pytest.mark.parametrize("case", ["two partners", "no partner", "no manager", "empty text"])
def test_a_reply_no_single_managed_partner_owns_is_accepted_and_ignored(hooks, make_user, case):
    manager = make_user("manager")
    if case == "two partners":
        create_partner(responsible=manager, phones=[NUMBER])
        create_partner(responsible=manager, phones=["8 916 123 45 67"])
    elif case == "no manager":
        create_partner(phones=[NUMBER])
    elif case == "empty text":
        create_partner(responsible=manager, phones=[NUMBER])
    state = _state()

    response = hooks(
        "/m/sms/inbound", {"from": NUMBER, "text": "" if case == "empty text" else "Hello"}
    )

    assert response.status_code == 200
    assert response.json == {"action": "ignored", "changed": False}
    assert _state() == state


# --- delivery reports ----------------------------------------------------------------------


def _sms(n: int, provider_id: str, state: str = "sent", **fields) -> Message:
    message = Message(
        channel="sms",
        address=f"+7916000000{n}",
        address_norm=f"+7916000000{n}",
        rfc_message_id=f"<k{n}@crm.test>",
        body_text="Hi",
        state=state,
        provider_id=provider_id,
        sent_at=utcnow(),
        **fields,
    )
    db.session.add(message)
    db.session.commit()
    return message


def test_a_delivered_report_marks_that_message_delivered_once(hooks):
    other = _sms(1, "gw-1")
    message = _sms(2, "gw-2")
    before = utcnow()

    first = hooks("/m/sms/status", {"id": "gw-2", "status": "delivered"})
    db.session.expire_all()
    delivered_at = message.delivered_at
    second = hooks("/m/sms/status", {"id": "gw-2", "status": "delivered"}, bearer=True)

    assert first.status_code == 200
    assert first.json == {"id": "gw-2", "state": "delivered"}
    assert second.json == {"id": "gw-2", "state": "delivered"}
    db.session.expire_all()
    assert message.state == "delivered"
    assert before <= delivered_at <= utcnow()
    assert message.delivered_at == delivered_at  # the repeat did not move it
    assert (other.state, other.delivered_at) == ("sent", None)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (
            {"id": "gw-5", "status": "failed", "error": "absent  subscriber"},
            "failed: absent subscriber",
        ),
        ({"id": "gw-5", "status": "undeliverable"}, "undeliverable"),
        ({"id": "gw-5", "status": "UNDELIVERABLE", "error": None}, "undeliverable"),
    ],
)
def test_a_failure_report_marks_the_sent_message_failed_with_the_reason(hooks, payload, error):
    message = _sms(5, "gw-5")

    response = hooks("/m/sms/status", payload)

    assert response.json == {"id": "gw-5", "state": "failed"}
    db.session.expire_all()
    assert (message.state, message.error, message.delivered_at) == ("failed", error, None)


def test_a_numeric_gateway_id_finds_its_message(hooks):
    message = _sms(1, "90210")

    response = hooks("/m/sms/status", {"id": 90210, "status": "delivered"})

    assert response.json == {"id": "90210", "state": "delivered"}
    db.session.expire_all()
    assert message.state == "delivered"


def test_a_late_failure_report_leaves_a_delivered_message_delivered(hooks):
    message = _sms(1, "gw-1", state="delivered", delivered_at=utcnow())
    state = _state()

    response = hooks("/m/sms/status", {"id": "gw-1", "status": "failed", "error": "late"})

    assert response.json == {"id": "gw-1", "state": "delivered"}
    assert _state() == state
    assert message.error == ""


def test_a_delivered_report_after_a_failure_one_wins(hooks):
    message = _sms(1, "gw-1", state="failed", error="failed: timeout")

    hooks("/m/sms/status", {"id": "gw-1", "status": "delivered"})

    db.session.expire_all()
    assert (message.state, message.error) == ("delivered", "")
    assert message.delivered_at is not None


def test_a_report_of_an_unknown_id_is_404_and_changes_nothing(hooks):
    _sms(1, "gw-1")
    email = Message(
        channel="email",
        address="a@x.test",
        address_norm="a@x.test",
        rfc_message_id="<e1@crm.test>",
        state="sent",
        provider_id="gw-9",
    )
    db.session.add(email)
    db.session.commit()
    state = _state()

    unknown = hooks("/m/sms/status", {"id": "gw-404", "status": "delivered"})
    not_sms = hooks("/m/sms/status", {"id": "gw-9", "status": "delivered"})

    assert (unknown.status_code, unknown.json) == (404, {"error": "No SMS was sent with this id."})
    assert not_sms.status_code == 404
    assert _state() == state


def test_a_report_of_a_message_not_recorded_as_sent_is_refused_to_be_repeated_later(hooks):
    _sms(1, "gw-1", state="sending")
    state = _state()

    response = hooks("/m/sms/status", {"id": "gw-1", "status": "delivered"})

    assert response.status_code == 409
    assert response.json == {"error": "The message is sending, not sent yet; report again later."}
    assert _state() == state


# --- refused hooks -------------------------------------------------------------------------


def _partner_with_consenting_number(make_user):
    manager = make_user("manager")
    create_partner(responsible=manager, phones=[NUMBER])
    db.session.add(Subscriber(channel="sms", address=NUMBER, address_norm=NUMBER, consent=True))
    db.session.commit()


@pytest.mark.parametrize(
    ("token", "bearer"),
    [(None, False), ("", False), ("wrong", False), ("wrong", True), (HOOK_TOKEN + "x", False)],
)
def test_a_hook_without_the_right_token_is_refused_and_changes_nothing(
    hooks, make_user, token, bearer
):
    _partner_with_consenting_number(make_user)
    _sms(1, "gw-1")
    state = _state()

    stop = hooks("/m/sms/inbound", {"from": NUMBER, "text": "STOP"}, token=token, bearer=bearer)
    reply = hooks("/m/sms/inbound", {"from": NUMBER, "text": "Hi"}, token=token, bearer=bearer)
    report = hooks("/m/sms/status", {"id": "gw-1", "status": "failed"}, token=token, bearer=bearer)

    for response in (stop, reply, report):
        assert response.status_code == 403
        assert response.json == {"error": "Wrong or missing webhook token."}
    assert _state() == state


def test_the_hooks_do_not_exist_while_no_token_is_set(app, hooks, make_user):
    _partner_with_consenting_number(make_user)
    app.config["SMS_WEBHOOK_TOKEN"] = ""
    state = _state()

    for token in ("", HOOK_TOKEN):
        response = hooks("/m/sms/inbound", {"from": NUMBER, "text": "STOP"}, token=token)
        assert response.status_code == 404
    assert _state() == state


def test_the_hooks_need_no_csrf_token_nor_sign_in(app, hooks):
    app.config["WTF_CSRF_ENABLED"] = True

    response = hooks("/m/sms/inbound", {"from": NUMBER, "text": "STOP"}, bearer=True)

    assert response.status_code == 200
    assert _count(Suppression) == 1


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        (
            "/m/sms/inbound",
            b"{not json",
            'Send a JSON object: {"from": "+79\u2026", "text": "\u2026"}.',
        ),
        (
            "/m/sms/inbound",
            b'["STOP"]',
            'Send a JSON object: {"from": "+79\u2026", "text": "\u2026"}.',
        ),
        (
            "/m/sms/inbound",
            b'{"text": "STOP"}',
            '"from" (the phone number) and "text" must be strings.',
        ),
        (
            "/m/sms/inbound",
            b'{"from": 79161234567, "text": "STOP"}',
            '"from" (the phone number) and "text" must be strings.',
        ),
        (
            "/m/sms/inbound",
            b'{"from": "+79161234567"}',
            '"from" (the phone number) and "text" must be strings.',
        ),
        (
            "/m/sms/inbound",
            b'{"from": "ab", "text": "STOP"}',
            "\"from\" is not a phone number: 'ab'.",
        ),
        (
            "/m/sms/status",
            b"",
            'Send a JSON object: {"id": "\u2026", "status": "delivered"}.',
        ),
        (
            "/m/sms/status",
            b'{"status": "delivered"}',
            '"id" must be the gateway\'s message id (1 to 120 characters).',
        ),
        (
            "/m/sms/status",
            b'{"id": true, "status": "delivered"}',
            '"id" must be the gateway\'s message id (1 to 120 characters).',
        ),
        (
            "/m/sms/status",
            b'{"id": "gw-1", "status": "read"}',
            "\"status\" must be one of: delivered, failed, undeliverable (got 'read').",
        ),
        (
            "/m/sms/status",
            b'{"id": "gw-1", "status": "failed", "error": {"code": 1}}',
            '"error" must be a string.',
        ),
    ],
)
def test_malformed_hooks_are_400_with_the_reason_and_change_nothing(
    hooks, make_user, path, body, error
):
    _partner_with_consenting_number(make_user)
    _sms(1, "gw-1")
    state = _state()

    response = hooks(path, data=body)

    assert response.status_code == 400
    assert response.json == {"error": error}
    assert _state() == state


def test_an_oversized_hook_is_413_and_changes_nothing(hooks):
    body = b'{"from": "+79161234567", "text": "STOP", "pad": "' + b"x" * 70_000 + b'"}'

    response = hooks("/m/sms/inbound", data=body)

    assert response.status_code == 413
    assert response.json == {"error": "The request is larger than 64 KB."}
    assert _count(Suppression) == 0
