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


# --- groups, templates and messages written directly (the tests of every part) -------------

import itertools  # noqa: E402

import pytest  # noqa: E402

from crm.extensions import db  # noqa: E402

_numbers = itertools.count(1)


@pytest.fixture
def make_group(app):
    """make_group(name, kind, **fields) -> a MailingGroup of kind "advertising" or "service",
    stored directly (not through the group services under test)."""
    from crm.messaging.models import MailingGroup

    def make(name, kind, **fields):
        group = MailingGroup(name=name, kind=kind, **fields)
        db.session.add(group)
        db.session.commit()
        return group

    return make


@pytest.fixture
def make_template(app):
    """make_template(name=None, channel="email", *, text=None, ru=None, en=None) ->
    MessageTemplate, stored directly (not through the template services and their checks).
    `text`: one Russian text saying it everywhere (an e-mail's subject, HTML body <p>text</p>
    and text body; an SMS's text); or `ru`/`en`: dicts of subject, body_html, body_text. No
    name: "Template <n>"."""
    from crm.messaging.models import MessageTemplate, MessageTemplateText

    def make(name=None, channel="email", *, text=None, ru=None, en=None):
        if text is not None:
            assert ru is None, "text is the Russian text: give one or the other"
            ru = {"body_text": text}
            if channel == "email":
                ru.update(subject=text, body_html=f"<p>{text}</p>")
        template = MessageTemplate(name=name or f"Template {next(_numbers)}", channel=channel)
        for language, values in (("ru", ru), ("en", en)):
            if values is not None:
                template.texts.append(MessageTemplateText(language=language, **values))
        db.session.add(template)
        db.session.commit()
        return template

    return make


@pytest.fixture
def make_message(app):
    """make_message(address, *, mailing=None, channel=None, group=None, partner=None,
    language="ru", state="sent", key=None, **fields) -> Message, as the outbox writes it (its
    key, and the Message-ID made from it). The channel is the mailing's, else e-mail.
    `key_column=None` stores no key while the Message-ID still holds one."""
    from crm.core.text import normalise_email, normalise_phone
    from crm.messaging import tokens
    from crm.messaging.models import Message

    def make(
        address,
        *,
        mailing=None,
        channel=None,
        group=None,
        partner=None,
        language="ru",
        state="sent",
        key=None,
        **fields,
    ):
        channel = channel or (mailing.channel if mailing is not None else "email")
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
            subject=f"Message {next(_numbers)}",
            key=fields.pop("key_column", key),
            rfc_message_id=fields.pop("rfc_message_id", tokens.rfc_message_id(key)),
            state=state,
            **fields,
        )
        db.session.add(message)
        db.session.commit()
        return message

    return make


# --- event notifications to clients (crm/messaging/notification_*.py) -----------------------


@pytest.fixture
def switch_on(app):
    """switch_on(kind, template, group, at, params=None, enabled=True) -> the kind's
    NotificationSetting, written directly (not through the settings page under test)."""
    from crm.messaging.models import NotificationSetting

    def make(kind, template, group, at, params=None, enabled=True):
        setting = NotificationSetting(
            kind=kind,
            enabled=enabled,
            template_id=template.id if template else None,
            group_id=group.id if group else None,
            params=params or {},
            enabled_at=at,
        )
        db.session.add(setting)
        db.session.commit()
        return setting

    return make


@pytest.fixture
def event_placeholder(app, monkeypatch):
    """Templates may write `{{ event.… }}`: the event's own data, through a placeholder added
    to a copy of the app's registry for this test only."""
    from crm.core.message_placeholders import PLACEHOLDERS, Placeholder

    registry = PLACEHOLDERS.of(app).copy()
    registry.add(
        Placeholder(
            "event",
            "Event",
            (),
            load=lambda recipients: [dict(r.event) for r in recipients],
            sample=dict,
        )
    )
    monkeypatch.setitem(app.extensions, PLACEHOLDERS.name, registry)


@pytest.fixture
def notices(app):
    """notices(kind=None) -> the stored notification messages as sorted tuples
    (event_key, address_norm, partner_id, contact_person_id, body_text)."""
    from sqlalchemy import select

    from crm.messaging.models import Message

    def read(kind=None) -> list[tuple]:
        stmt = select(
            Message.event_key,
            Message.address_norm,
            Message.partner_id,
            Message.contact_person_id,
            Message.body_text,
        ).where(Message.kind != "")
        if kind is not None:
            stmt = stmt.where(Message.kind == kind)
        return sorted(tuple(r) for r in db.session.execute(stmt))

    return read


# --- mailings (tests/messaging/test_mailing*.py) --------------------------------------------

import pytest  # noqa: E402

from tests.messaging.mailing_helpers import (  # noqa: E402
    MailingDesk,
    add_consent,
    mailing_number,
)


@pytest.fixture
def desk(app, make_user, make_group, make_template):
    """Five partners: P1 (Anna's, a@ consenting, its contact Ann ann@ consenting), P2 (Anna's,
    b@ without consent), P3 (Boris's, c@ consenting), P4 (Boris's, no address), P5 (Anna's,
    e@ consenting but do-not-e-mail)."""
    from tests.factories import create_partner

    admin, marketer = make_user("admin"), make_user("marketer")
    anna, boris = make_user("manager", name="Anna"), make_user("manager", name="Boris")
    viewer = make_user("viewer")
    d = MailingDesk(
        admin,
        marketer,
        anna,
        boris,
        viewer,
        make_group("Promotions", "advertising"),
        make_group("Service notices", "service"),
        make_template(
            "Spring letter",
            ru={"subject": "Spring sale", "body_html": "<p>Hi</p>", "body_text": "Hi"},
        ),
        make_template("Short SMS", "sms", text="Sale!"),
    )
    d.p["P1"] = create_partner(
        name="Альфа", code="P1", responsible=anna, emails=["a@x.test"],
        persons=[{"name": "Ann", "email": "ann@x.test"}],
    )  # fmt: skip
    d.p["P2"] = create_partner(name="Бета", code="P2", responsible=anna, emails=["b@x.test"])
    d.p["P3"] = create_partner(name="Гамма", code="P3", responsible=boris, emails=["c@x.test"])
    d.p["P4"] = create_partner(name="Дельта", code="P4", responsible=boris)
    d.p["P5"] = create_partner(
        name="Эпсилон", code="P5", responsible=anna, emails=["e@x.test"], do_not_email=True
    )
    for address in ("a@x.test", "ann@x.test", "c@x.test", "e@x.test"):
        add_consent(address)
    return d


@pytest.fixture
def make_mailing(app):
    """make_mailing(desk, name=…, partners=(codes), state="draft", **fields) -> Mailing, written
    by hand (not through the services under test)."""
    from crm.extensions import db
    from crm.messaging.models import Mailing, MailingPartner

    def make(d, name=None, partners=(), state="draft", **fields):
        fields.setdefault("channel", "email")
        fields.setdefault("template_id", d.letter.id if fields["channel"] == "email" else d.sms.id)
        fields.setdefault("group_id", d.promo.id)
        mailing = Mailing(
            name=name or f"Mailing {mailing_number()}",
            state=state,
            created_by_id=d.marketer.id,
            **fields,
        )
        db.session.add(mailing)
        db.session.flush()
        for code in partners:
            db.session.add(MailingPartner(mailing_id=mailing.id, partner_id=d.p[code].id))
        db.session.commit()
        return mailing

    return make


# --- delivery (H2) -------------------------------------------------------------------------

import pytest  # noqa: E402


@pytest.fixture
def mail_server(app):
    """A real SMTP server on 127.0.0.1 the app sends through (tests.messaging.
    delivery_helpers.MailServer: answers set per address)."""
    from tests.messaging.delivery_helpers import running_mail_server

    with running_mail_server(app) as server:
        yield server


@pytest.fixture(autouse=True)
def _sending_thread_done(request):
    """A test that kicked the sending thread (no Redis) leaves it finished before its tables
    are emptied (asked for here, `app` is torn down after this fixture)."""
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    if app is not None:
        from crm.messaging.runners import wait_for_sending_thread

        assert wait_for_sending_thread(app, timeout=60), "the sending thread did not finish"
