"""Recipient lists: addresses of partners and their contact persons, de-duplicated, with the
ones that may not be sent to skipped and counted (expected lists written by hand)."""

from __future__ import annotations

from crm.extensions import db
from crm.messaging.models import GroupOptOut, MailingGroup, Suppression
from crm.messaging.recipients import resolve_partners
from crm.partners.models import ContactDetail, ContactPerson
from tests.factories import create_partner
from tests.messaging.mailing_helpers import add_consent


def _person(partner, name: str, email: str) -> ContactPerson:
    person = ContactPerson(partner_id=partner.id, name=name)
    person.contact_details.append(
        ContactDetail(kind="email", value=email, value_norm=email.casefold())
    )
    db.session.add(person)
    return person


def test_advertising_reaches_consenting_addresses_once_and_counts_the_rest(app):
    promo = MailingGroup(name="Promotions", kind="advertising")
    db.session.add(promo)
    a = create_partner(name="A", emails=["a@x.test"])
    b = create_partner(name="B", emails=["b@x.test"])  # no consent
    c = create_partner(name="C")  # no address
    d = create_partner(name="D", emails=["d@x.test"], do_not_email=True)
    e = create_partner(name="E", emails=["e@x.test"])  # suppressed
    f = create_partner(name="F", emails=["f@x.test"])  # opted out of Promotions
    db.session.flush()
    ann = _person(a, "Ann", "Ann@X.test")
    _person(b, "Bob", "a@x.test")  # the same address as A's: a duplicate
    for address in ("a@x.test", "ann@x.test", "e@x.test", "f@x.test"):
        add_consent(address, language="en" if address == "ann@x.test" else "")
    db.session.add(Suppression(channel="email", address_norm="e@x.test", reason="bounced"))
    db.session.add(GroupOptOut(group_id=promo.id, channel="email", address_norm="f@x.test"))
    db.session.flush()

    result = resolve_partners("email", promo, [p.id for p in (a, b, c, d, e, f)])

    assert [
        (r.partner_id, r.contact_person_id, r.address_norm, r.language) for r in result.recipients
    ] == [
        (a.id, None, "a@x.test", "ru"),
        (a.id, ann.id, "ann@x.test", "en"),
    ]
    assert result.skipped == {
        "no_address": 1, "do_not_contact": 1, "duplicate": 1,
        "suppressed": 1, "opted_out": 1, "no_consent": 1,
    }  # fmt: skip
    assert result.partners == 6


def test_service_notices_need_no_consent_but_respect_suppression(app):
    service = MailingGroup(name="Service", kind="service")
    db.session.add(service)
    a = create_partner(name="A", emails=["a@x.test"])
    b = create_partner(name="B", emails=["b@x.test"])
    db.session.add(Suppression(channel="email", address_norm="b@x.test", reason="unsubscribed"))
    db.session.flush()

    result = resolve_partners("email", service, [a.id, b.id])

    assert [r.address_norm for r in result.recipients] == ["a@x.test"]
    assert result.skipped["suppressed"] == 1 and result.skipped["no_consent"] == 0


def test_storing_the_same_messages_twice_writes_them_once(app):
    from sqlalchemy import func, select

    from crm.core.message_placeholders import Recipient
    from crm.messaging.compose import compose
    from crm.messaging.models import Mailing, Message, MessageTemplate, MessageTemplateText
    from crm.messaging.outbox import store

    a = create_partner(name="A", emails=["a@x.test"])
    template = MessageTemplate(name="T", channel="email")
    template.texts.append(MessageTemplateText(language="ru", subject="S", body_text="Hi"))
    mailing = Mailing(name="M", channel="email", template=template)
    db.session.add(mailing)
    db.session.flush()
    to = [Recipient(a.id, address="a@x.test", address_norm="a@x.test")]

    first = store(compose(template, to), "email", mailing_id=mailing.id)
    again = store(compose(template, to), "email", mailing_id=mailing.id)

    assert (first, again) == (1, 0)
    assert db.session.execute(select(func.count(Message.id))).scalar_one() == 1
