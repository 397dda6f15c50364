"""The partner's preferences as segment conditions (crm.segments.partner_conditions): the
preferred channel and the channels a partner asked not to be contacted by, on four partners
whose preferences are listed by hand."""

from __future__ import annotations

import pytest

from crm.extensions import db
from crm.partners.models import Partner
from crm.segments.rules import RuleError, member_ids
from tests.factories import create_partner


@pytest.fixture
def prefs(app):
    """P1: prefers e-mail, no calls. P2: prefers phone, no e-mail and no SMS. P3: prefers
    meetings, no post. P4: no preference, nothing refused."""
    p = {
        1: create_partner("Один", preferred_channel="email", do_not_call=True, commit=False),
        2: create_partner(
            "Два", preferred_channel="phone", do_not_email=True, do_not_sms=True, commit=False
        ),  # fmt: skip
        3: create_partner("Три", preferred_channel="meeting", do_not_mail=True, commit=False),
        4: create_partner("Четыре", commit=False),
    }
    db.session.commit()
    return {pid.id: n for n, pid in p.items()}


def members(prefs, rule) -> set[int]:
    return {prefs[pid] for pid in member_ids(rule) if pid in prefs}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"type": "partner.channel", "channels": ["email"]}, {1}),
        ({"type": "partner.channel", "channels": ["phone", "meeting", "sms"]}, {2, 3}),
        ({"not": {"type": "partner.channel", "channels": ["email"]}}, {2, 3, 4}),
        ({"type": "partner.do_not_contact", "channels": ["email"]}, {2}),
        ({"type": "partner.do_not_contact", "channels": ["phone"]}, {1}),
        ({"type": "partner.do_not_contact", "channels": ["sms", "mail"]}, {2, 3}),
        # May be e-mailed.
        ({"not": {"type": "partner.do_not_contact", "channels": ["email"]}}, {1, 3, 4}),
        (
            {
                "all": [
                    {"type": "partner.channel", "channels": ["phone", "email"]},
                    {"not": {"type": "partner.do_not_contact", "channels": ["phone"]}},
                ]
            },
            {2},
        ),  # fmt: skip
    ],
)
def test_preferences_match_the_partners_listed_by_hand(prefs, rule, expected):
    assert members(prefs, rule) == expected


@pytest.mark.parametrize(
    ("rule", "path", "message"),
    [
        ({"type": "partner.channel"}, "channels", "required"),
        ({"type": "partner.channel", "channels": "email"}, "channels", "non-empty list"),
        ({"type": "partner.channel", "channels": ["pigeon"]}, "channels", "is not one of"),
        ({"type": "partner.do_not_contact", "channels": ["meeting"]}, "channels", "is not one of"),
        (
            {"type": "partner.channel", "channels": ["'; DROP TABLE partner; --"]},
            "channels",
            "is not one of",
        ),  # fmt: skip
    ],
)
def test_bad_preferences_are_refused_naming_the_parameter(prefs, rule, path, message):
    with pytest.raises(RuleError) as caught:
        member_ids(rule)
    assert (caught.value.path, message in caught.value.message) == (path, True)
    assert db.session.query(Partner).count() == 4
