"""The interaction condition of segment rules (crm.interactions.conditions): no contact (a
completed interaction) for N days, on six partners whose interactions are listed by hand. The
site's zone is Moscow (UTC+3): the days are Moscow's, interactions are stored in UTC."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from crm.extensions import db
from crm.partners.models import Partner
from crm.segments.rules import RuleError, member_ids
from tests.factories import create_interaction, create_partner

AS_OF = date(2026, 6, 30)


@pytest.fixture
def contacts(app, make_user):
    """UTC times; 30 days up to 2026-06-30 in Moscow run from 2026-05-31 21:00 to 2026-06-30
    21:00 UTC.
    I1: a completed call on 06-20 09:00.
    I2: a completed meeting on 05-31 21:30 (06-01 00:30 in Moscow: inside the 30 days).
    I3: a completed call on 05-31 20:30 (05-31 23:30 in Moscow: outside).
    I4: a planned call on 06-25 and a cancelled meeting on 06-10: no contact.
    I5: nothing at all.
    I6: a completed e-mail on 06-30 21:30 (07-01 in Moscow: after the rule's date)."""
    assert app.config["DEFAULT_TIMEZONE"] == "Europe/Moscow"
    user = make_user("manager")
    p = {n: create_partner(f"Контакт {n}", code=f"I{n}", commit=False) for n in range(1, 7)}

    def made(n, kind, at, status="completed"):
        create_interaction(user, kind, at, partner=p[n], status=status, commit=False)

    made(1, "call", datetime(2026, 6, 20, 9, 0))
    made(2, "meeting", datetime(2026, 5, 31, 21, 30))
    made(3, "call", datetime(2026, 5, 31, 20, 30))
    made(4, "call", datetime(2026, 6, 25, 10, 0), status="planned")
    made(4, "meeting", datetime(2026, 6, 10, 10, 0), status="cancelled")
    made(6, "email", datetime(2026, 6, 30, 21, 30))
    db.session.commit()
    return {v.id: n for n, v in p.items()}


def members(contacts, rule, as_of=AS_OF) -> set[int]:
    return {contacts[pid] for pid in member_ids(rule, as_of=as_of) if pid in contacts}


@pytest.mark.parametrize(
    ("rule", "as_of", "expected"),
    [
        ({"days": 30}, AS_OF, {3, 4, 5, 6}),
        ({"days": 31}, AS_OF, {4, 5, 6}),  # from 05-31 in Moscow: I3's call counts
        ({"days": 30, "kinds": ["call"]}, AS_OF, {2, 3, 4, 5, 6}),  # I2 only met
        ({"days": 30, "kinds": ["meeting", "email"]}, AS_OF, {1, 3, 4, 5, 6}),
        ({"days": 1}, date(2026, 7, 1), {1, 2, 3, 4, 5}),  # I6's e-mail on that day
        ({"days": 40}, date(2026, 5, 1), {1, 2, 3, 4, 5, 6}),  # before anything was done
    ],
)
def test_no_contact_for_n_days(contacts, rule, as_of, expected):
    assert members(contacts, {"type": "interactions.no_contact", **rule}, as_of) == expected


def test_contacted_is_the_negation(contacts):
    rule = {"not": {"type": "interactions.no_contact", "days": 30}}
    assert members(contacts, rule) == {1, 2}


@pytest.mark.parametrize(
    ("rule", "path", "message"),
    [
        ({"type": "interactions.no_contact"}, "days", "required"),
        ({"type": "interactions.no_contact", "days": 0}, "days", "0"),
        ({"type": "interactions.no_contact", "days": 1.5}, "days", "whole number"),
        ({"type": "interactions.no_contact", "days": 9, "kinds": ["visit"]}, "kinds", "not one"),
        (
            {"type": "interactions.no_contact", "days": 9, "kinds": ["'; DROP TABLE partner; --"]},
            "kinds",
            "is not one of",
        ),  # fmt: skip
    ],
)
def test_bad_values_are_refused_naming_the_parameter(contacts, rule, path, message):
    with pytest.raises(RuleError) as caught:
        member_ids(rule, as_of=AS_OF)
    assert caught.value.path == path
    assert message in caught.value.message
    assert db.session.query(Partner).count() == 6
