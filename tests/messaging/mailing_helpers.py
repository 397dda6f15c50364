"""Data helpers of the mailing tests (tests/messaging/test_mailing*.py): templates, groups,
consent and messages written by hand, not through the services under test."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

_mailing_numbers = itertools.count(1)


def add_template(name, channel="email", subject="Hello", html="<p>Hi</p>", text="Hi", lang="ru"):
    """A message template with one text (e-mail: subject, HTML, text; SMS: text)."""
    from crm.extensions import db
    from crm.messaging.models import MessageTemplate, MessageTemplateText

    template = MessageTemplate(name=name, channel=channel)
    template.texts.append(
        MessageTemplateText(
            language=lang,
            subject=subject if channel == "email" else "",
            body_html=html if channel == "email" else "",
            body_text=text,
        )
    )
    db.session.add(template)
    db.session.commit()
    return template


def add_group(name, kind="advertising", active=True):
    from crm.extensions import db
    from crm.messaging.models import MailingGroup

    group = MailingGroup(name=name, kind=kind, is_active=active)
    db.session.add(group)
    db.session.commit()
    return group


def add_consent(address, channel="email"):
    from crm.extensions import db
    from crm.messaging.models import Subscriber

    db.session.add(
        Subscriber(
            channel=channel,
            address=address,
            address_norm=address.casefold(),
            consent=True,
            consent_source="test",
        )
    )
    db.session.commit()


def add_message(mailing, address, partner=None, state="queued", **fields):
    """A message of a mailing, written by hand (as the delivery job would have)."""
    from crm.extensions import db
    from crm.messaging.models import Message

    n = mailing_number()
    message = Message(
        mailing_id=mailing.id,
        channel=mailing.channel,
        address=address,
        address_norm=address.casefold(),
        partner_id=partner.id if partner is not None else None,
        rfc_message_id=f"<m{n}.test@crm.test>",
        state=state,
        **fields,
    )
    db.session.add(message)
    db.session.commit()
    return message


@dataclass
class MailingDesk:
    """Users, partners, groups and templates of the mailing tests."""

    admin: object
    marketer: object
    anna: object  # a manager
    boris: object  # another manager
    viewer: object
    promo: object  # advertising group
    service: object  # service group
    letter: object  # e-mail template
    sms: object  # SMS template
    p: dict = field(default_factory=dict)  # partners by code


def mailing_number() -> int:
    return next(_mailing_numbers)
