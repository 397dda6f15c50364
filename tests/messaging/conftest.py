"""Fixtures of the messaging tests. Each part of the domain keeps its fixtures in its own
block below."""


# --- mailings (tests/messaging/test_mailing*.py) --------------------------------------------

import pytest  # noqa: E402

from tests.messaging.mailing_helpers import (  # noqa: E402
    MailingDesk,
    add_consent,
    add_group,
    add_template,
    mailing_number,
)


@pytest.fixture
def desk(app, make_user):
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
        add_group("Promotions", "advertising"),
        add_group("Service notices", "service"),
        add_template("Spring letter", "email", "Spring sale"),
        add_template("Short SMS", "sms", text="Sale!"),
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
