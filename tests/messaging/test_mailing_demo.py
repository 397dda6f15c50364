"""`crm demo` gives the mailing pages something to show: the groups «Акции и скидки»
(advertising) and «Сервисные уведомления» (service), consent with its source for part of the
demo addresses, and two draft mailings — and sends nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.extensions import db
from crm.messaging.models import Mailing, MailingGroup, MailingPartner, Message, Subscriber
from crm.messaging.services import readiness, template_problems
from crm.partners.models import ContactDetail


def _demo(runner) -> None:
    result = runner.invoke(args=["crm", "demo", "--partners", "30", "--seed", "5"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_the_demo_makes_groups_consent_and_two_drafts_and_sends_nothing(runner):
    _demo(runner)

    groups = dict(db.session.execute(select(MailingGroup.name, MailingGroup.kind)).all())
    assert (
        groups.items()
        >= {"Акции и скидки": "advertising", "Сервисные уведомления": "service"}.items()
    )
    subscribers = list(db.session.execute(select(Subscriber)).scalars())
    emails = count(select(ContactDetail.id).where(ContactDetail.kind == "email").subquery())
    assert 0 < len([s for s in subscribers if s.channel == "email"]) < emails
    assert all(s.consent and s.consent_source and s.consent_at for s in subscribers)
    mailings = list(db.session.execute(select(Mailing).order_by(Mailing.id)).scalars())
    assert [(m.channel, m.state) for m in mailings] == [("email", "draft"), ("sms", "draft")]
    assert mailings[0].group.kind == "advertising" and mailings[1].group.kind == "service"
    # The sale goes to clients whose e-mail consented.
    promo = set(
        db.session.execute(
            select(MailingPartner.partner_id).where(MailingPartner.mailing_id == mailings[0].id)
        ).scalars()
    )
    consenting = {s.partner_id for s in subscribers if s.channel == "email"}
    assert promo and promo <= consenting
    # The service notice is ready to schedule; the sale's template (the templates' demo step
    # makes it, when there is one) renders for a mailing.
    assert readiness(mailings[1]) == []
    assert mailings[0].template is None or template_problems(mailings[0].template) == []
    assert count(Message) == 0

    before = (count(MailingGroup), count(Mailing))
    _demo(runner)  # a second run adds no groups or mailings, and still sends nothing
    assert (count(MailingGroup), count(Mailing), count(Message)) == (*before, 0)


def test_the_demo_mailings_are_the_marketers(runner):
    from crm.auth.models import User

    _demo(runner)
    authors = db.session.execute(
        select(User.role).join(Mailing, Mailing.created_by_id == User.id)
    ).scalars()
    assert set(authors) == {"marketer"}
