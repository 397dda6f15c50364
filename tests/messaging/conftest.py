"""Fixtures of the messaging tests. Each part of the domain keeps its fixtures in its own
block below."""


# --- SMS gateway (H6) --------------------------------------------------------------------------

import pytest  # noqa: E402

from tests.messaging.sms_helpers import SmsGatewayServer  # noqa: E402


@pytest.fixture
def sms_gateway_server():
    """A local HTTP server playing the SMS gateway (tests/messaging/sms_helpers.py)."""
    server = SmsGatewayServer().start()
    yield server
    server.stop()


@pytest.fixture
def sms_http_app(app, sms_gateway_server):
    """The app sending SMS through the HTTP JSON gateway to `sms_gateway_server`."""
    app.config.update(
        SMS_BACKEND="http",
        SMS_HTTP_URL=sms_gateway_server.url,
        SMS_HTTP_TOKEN="gateway-secret",
        SMS_SENDER="CRM",
        SMS_HTTP_TIMEOUT=5,
    )
    return app


# --- consent, groups, suppression, unsubscribe and tracking (H3) ----------------------------

import itertools  # noqa: E402

_message_numbers = itertools.count(1)


@pytest.fixture
def make_group(app):
    """make_group(name="Promotions", kind="advertising", **fields) -> MailingGroup."""
    from crm.extensions import db
    from crm.messaging.models import MailingGroup

    def make(name="Promotions", kind="advertising", **fields):
        group = MailingGroup(name=name, kind=kind, **fields)
        db.session.add(group)
        db.session.commit()
        return group

    return make


@pytest.fixture
def make_message(app):
    """make_message(address="a@x.test", channel="email", group=None, language="ru",
    partner=None, mailing=None, key=None, **fields) -> Message: a message as the outbox writes
    it (its key, and the Message-ID made from it), sent."""
    from crm.core.text import normalise_email, normalise_phone
    from crm.extensions import db
    from crm.messaging import tokens
    from crm.messaging.models import Message

    def make(
        address="a@x.test",
        channel="email",
        group=None,
        language="ru",
        partner=None,
        mailing=None,
        key=None,
        **fields,
    ):
        key = key or tokens.new_key()
        norm = normalise_email(address) if channel == "email" else normalise_phone(address)
        message = Message(
            channel=channel,
            address=address,
            address_norm=norm,
            group_id=group.id if group is not None else None,
            mailing_id=mailing.id if mailing is not None else None,
            partner_id=partner.id if partner is not None else None,
            language=language,
            subject=f"Message {next(_message_numbers)}",
            key=fields.pop("key_column", key),
            rfc_message_id=fields.pop("rfc_message_id", tokens.rfc_message_id(key)),
            state=fields.pop("state", "sent"),
            **fields,
        )
        db.session.add(message)
        db.session.commit()
        return message

    return make
