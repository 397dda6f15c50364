"""Data helpers of the mailing tests (tests/messaging/test_mailing*.py): consent written by hand,
not through the services under test, and the desk the `desk` fixture sets. Groups, templates and
messages are the fixtures of tests/messaging/conftest.py."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

_mailing_numbers = itertools.count(1)


def add_consent(address, channel="email", language=""):
    """The address's consent to advertising (and its language), as the consent services
    would have recorded it."""
    from crm.extensions import db
    from crm.messaging.models import Subscriber

    db.session.add(
        Subscriber(
            channel=channel,
            address=address,
            address_norm=address.casefold(),
            consent=True,
            consent_source="test",
            language=language,
        )
    )
    db.session.commit()


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
