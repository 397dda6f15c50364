"""«Send now» on a mailing's card starts its job (crm.messaging.jobs.start_mailing_now, the
delivery part's): the messages are made at once for exactly the addresses that may be sent to,
the skipped ones counted on the mailing. Runs once the delivery branch is merged (skipped
before: its module is not there yet)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.messaging.models import Mailing, Message

pytest.importorskip("crm.messaging.jobs", reason="the delivery part (start_mailing_now)")


def test_send_now_makes_the_messages_of_the_consenting_addresses(
    client, login_as, desk, make_mailing
):
    """P1..P5 by e-mail to the advertising group: a@ and ann@ (P1) and c@ (P3) go; b@ (P2) has
    no consent, P4 no address, e@ (P5) is do-not-e-mail."""
    mailing = make_mailing(desk, partners=["P1", "P2", "P3", "P4", "P5"])
    login_as(desk.marketer)

    response = client.post(f"/messaging/mailings/{mailing.id}/send", follow_redirects=True)

    assert response.status_code == 200
    assert "Sending has started." in response.get_data(as_text=True)
    db.session.expire_all()
    mailing = db.session.get(Mailing, mailing.id)
    assert mailing.state in ("sending", "done")
    addresses = db.session.execute(
        select(Message.address_norm).where(Message.mailing_id == mailing.id)
    ).scalars()
    assert sorted(addresses) == ["a@x.test", "ann@x.test", "c@x.test"]
    assert mailing.total == 3
    assert {k: v for k, v in mailing.skipped.items() if v} == {
        "no_address": 1,
        "do_not_contact": 1,
        "no_consent": 1,
    }


def test_send_now_of_a_scheduled_mailing_starts_it_before_its_time(
    client, login_as, desk, make_mailing
):
    from datetime import timedelta

    from crm.core.timeutil import utcnow

    mailing = make_mailing(
        desk, partners=["P3"], state="scheduled", scheduled_at=utcnow() + timedelta(days=3)
    )
    login_as(desk.marketer)

    client.post(f"/messaging/mailings/{mailing.id}/send")

    db.session.expire_all()
    mailing = db.session.get(Mailing, mailing.id)
    assert mailing.state in ("sending", "done")
    made = db.session.execute(select(Message.address_norm).where(Message.mailing_id == mailing.id))
    assert made.scalars().all() == ["c@x.test"]
