"""Consent, language, group opt-outs (crm/messaging/consent.py) and suppression
(crm/messaging/suppression.py): each change is recorded with who did it and on what source,
addresses are matched as the contact details hold them, and the recipient lists follow at
once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.core.errors import DomainError, PermissionDenied
from crm.core.models import AuditEntry
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.messaging import consent, suppression
from crm.messaging.consent_queries import history
from crm.messaging.models import GroupOptOut, Subscriber, Suppression
from crm.messaging.recipients import resolve_partners


def _entries(action: str) -> list[AuditEntry]:
    return list(
        db.session.execute(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).scalars()
    )


def test_granted_consent_lets_advertising_reach_the_address(
    app, make_user, make_partner, make_group
):
    manager = make_user("manager")
    promo = make_group("Promotions", "advertising")
    partner = make_partner(name="Alpha", emails=["Ann@Example.test"], responsible=manager)
    assert resolve_partners("email", promo, [partner.id]).skipped["no_consent"] == 1

    consent.grant_consent(
        manager, "email", " Ann@Example.test ", source="form on the website 04.12.2026"
    )
    db.session.commit()

    sub = db.session.execute(select(Subscriber)).scalar_one()
    assert (sub.channel, sub.address_norm, sub.consent) == ("email", "ann@example.test", True)
    assert sub.consent_source == "form on the website 04.12.2026"
    assert abs(sub.consent_at - utcnow()) < timedelta(minutes=1)
    result = resolve_partners("email", promo, [partner.id])
    assert [r.address_norm for r in result.recipients] == ["ann@example.test"]


def test_a_phone_is_matched_in_the_form_contact_details_hold_it(
    app, make_user, make_partner, make_group
):
    admin = make_user("admin")
    promo = make_group("Promotions", "advertising")
    partner = make_partner(name="Beta", phones=["+7 916 123-45-67"])

    consent.grant_consent(admin, "sms", "8 (916) 123-45-67", source="signed paper")
    db.session.commit()

    assert db.session.execute(select(Subscriber.address_norm)).scalar_one() == "+79161234567"
    result = resolve_partners("sms", promo, [partner.id])
    assert [r.address_norm for r in result.recipients] == ["+79161234567"]


def test_a_past_date_is_kept_and_the_history_says_who_and_on_what_source(app, make_user):
    app.config["DEFAULT_TIMEZONE"] = "Europe/Moscow"
    marketer = make_user("marketer", name="Maria Marketer")

    consent.grant_consent(marketer, "email", "b@x.test", source="signed paper", on=date(2026, 3, 2))
    db.session.commit()
    consent.withdraw_consent(None, "email", "b@x.test", source="unsubscribe link")
    db.session.commit()

    sub = db.session.execute(select(Subscriber)).scalar_one()
    # Midnight in Moscow (UTC+3) is 21:00 UTC the day before.
    assert sub.consent_at == datetime(2026, 3, 1, 21, 0)
    assert (sub.consent, sub.withdrawn_source) == (False, "unsubscribe link")
    entries = history([sub.id])[sub.id]
    assert [(e.granted, e.who, e.source) for e in entries] == [
        (False, "", "unsubscribe link"),
        (True, "Maria Marketer", "signed paper"),
    ]
    assert entries[1].consent_at == datetime(2026, 3, 1, 21, 0)


def test_granting_twice_changes_and_records_nothing_more(app, make_user):
    admin = make_user("admin")
    consent.grant_consent(admin, "email", "c@x.test", source="first")
    consent.grant_consent(admin, "email", "C@x.test", source="second")
    db.session.commit()

    sub = db.session.execute(select(Subscriber)).scalar_one()
    assert sub.consent_source == "first"
    assert len(_entries("consent_granted")) == 1


def test_a_consent_needs_a_source_and_no_future_date(app, make_user):
    admin = make_user("admin")

    with pytest.raises(DomainError) as missing:
        consent.grant_consent(admin, "email", "d@x.test", source="   ")
    with pytest.raises(DomainError) as future:
        consent.grant_consent(
            admin, "email", "d@x.test", source="paper", on=date.today() + timedelta(days=2)
        )
    db.session.rollback()

    assert "source" in missing.value.field_errors
    assert "on" in future.value.field_errors
    assert db.session.execute(select(Subscriber)).first() is None


def test_a_viewer_may_not_change_consents(app, make_user):
    viewer = make_user("viewer")

    with pytest.raises(PermissionDenied):
        consent.grant_consent(viewer, "email", "e@x.test", source="paper")


def test_withdrawing_a_consent_stops_advertising_but_not_service_notices(
    app, make_user, make_partner, make_group
):
    admin = make_user("admin")
    promo = make_group("Promotions", "advertising")
    service = make_group("Service", "service")
    partner = make_partner(emails=["f@x.test"])
    consent.grant_consent(admin, "email", "f@x.test", source="paper")
    consent.withdraw_consent(admin, "email", "f@x.test", source="asked by phone")
    db.session.commit()

    assert resolve_partners("email", promo, [partner.id]).skipped["no_consent"] == 1
    assert [
        r.address_norm for r in resolve_partners("email", service, [partner.id]).recipients
    ] == ["f@x.test"]


def test_opting_out_of_one_group_keeps_the_others(app, make_user, make_partner, make_group):
    manager = make_user("manager")
    news = make_group("News", "service")
    orders = make_group("Orders", "service")
    partner = make_partner(emails=["g@x.test"])

    assert consent.opt_out(manager, news, "email", "G@x.test") is True
    assert consent.opt_out(manager, news, "email", "g@x.test") is False  # once
    db.session.commit()

    assert resolve_partners("email", news, [partner.id]).skipped["opted_out"] == 1
    assert len(resolve_partners("email", orders, [partner.id]).recipients) == 1

    assert consent.opt_in(manager, news, "email", "g@x.test") is True
    db.session.commit()
    assert len(resolve_partners("email", news, [partner.id]).recipients) == 1
    assert [e.action for e in _entries("opt_out")] == ["opt_out"]
    assert [e.action for e in _entries("opt_in")] == ["opt_in"]


def test_the_checkboxes_opt_out_of_the_ticked_groups_and_back_into_the_others(
    app, make_user, make_group
):
    manager = make_user("manager")
    a, b, c = make_group("A", "service"), make_group("B", "service"), make_group("C", "service")
    consent.opt_out(manager, a, "email", "h@x.test")

    changed = consent.set_opt_outs(manager, "email", "h@x.test", [a, b, c], {b.id, c.id})
    db.session.commit()

    assert changed == 3  # A back in, B and C out
    opted = db.session.execute(select(GroupOptOut.group_id).order_by(GroupOptOut.group_id))
    assert list(opted.scalars()) == [b.id, c.id]


def test_the_recorded_language_is_the_one_messages_are_written_in(
    app, make_user, make_partner, make_group
):
    manager = make_user("manager")
    service = make_group("Service", "service")
    partner = make_partner(emails=["i@x.test", "j@x.test"])

    consent.set_language(manager, "email", "i@x.test", "en")
    db.session.commit()

    result = resolve_partners("email", service, [partner.id])
    assert {r.address_norm: r.language for r in result.recipients} == {
        "i@x.test": "en",
        "j@x.test": "ru",
    }
    with pytest.raises(DomainError):
        consent.set_language(manager, "email", "i@x.test", "de")


def test_a_suppressed_address_gets_nothing_and_keeps_its_first_reason(
    app, make_user, make_partner, make_group
):
    marketer = make_user("marketer")
    service = make_group("Service", "service")
    partner = make_partner(emails=["k@x.test"])

    assert suppression.suppress(None, "email", "K@x.test", "bounced", note="550 no such user")
    assert not suppression.suppress(marketer, "email", "k@x.test", "manual")
    db.session.commit()

    row = db.session.execute(select(Suppression)).scalar_one()
    assert (row.address_norm, row.reason, row.note) == ("k@x.test", "bounced", "550 no such user")
    assert resolve_partners("email", service, [partner.id]).skipped["suppressed"] == 1


def test_only_admins_and_marketers_lift_a_bounce_and_only_with_a_note(app, make_user):
    manager, marketer = make_user("manager"), make_user("marketer")
    suppression.suppress(None, "email", "l@x.test", "bounced")
    db.session.commit()

    with pytest.raises(PermissionDenied):
        suppression.unsuppress(manager, "email", "l@x.test", note="client says it works")
    with pytest.raises(DomainError) as no_note:
        suppression.unsuppress(marketer, "email", "l@x.test")
    db.session.rollback()
    assert "note" in no_note.value.field_errors
    assert db.session.execute(select(Suppression)).scalar_one().reason == "bounced"

    assert suppression.unsuppress(marketer, "email", "l@x.test", note="mailbox fixed, checked")
    db.session.commit()
    assert db.session.execute(select(Suppression)).first() is None
    entry = _entries("unsuppress")[0]
    assert entry.user_id == marketer.id
    assert entry.changes["note"] == ["", "mailbox fixed, checked"]


def test_a_manager_lifts_his_own_hand_made_suppression(app, make_user):
    manager = make_user("manager")
    suppression.suppress(manager, "email", "m@x.test", "manual", note="on holiday")

    assert suppression.unsuppress(manager, "email", "m@x.test")
    assert not suppression.unsuppress(manager, "email", "m@x.test")  # gone already


def test_pasted_addresses_are_added_once_and_a_bad_one_adds_nothing(app, make_user):
    marketer = make_user("marketer")
    suppression.suppress(None, "email", "old@x.test", "bounced")
    db.session.commit()

    with pytest.raises(DomainError):
        suppression.suppress_many(marketer, "email", "new1@x.test\nnot-an-address")
    db.session.rollback()
    assert db.session.execute(select(Suppression.address_norm)).scalars().all() == ["old@x.test"]

    result = suppression.suppress_many(
        marketer, "email", "New1@x.test, new2@x.test; old@x.test\nnew1@x.test", note="list"
    )
    db.session.commit()

    assert result.added == ["new1@x.test", "new2@x.test"] and result.present == ["old@x.test"]
    rows = db.session.execute(select(Suppression.address_norm, Suppression.reason)).all()
    assert sorted(rows) == [
        ("new1@x.test", "manual"),
        ("new2@x.test", "manual"),
        ("old@x.test", "bounced"),
    ]


def test_a_change_to_a_partners_address_shows_in_the_partners_history(app, make_user, make_partner):
    manager = make_user("manager")
    partner = make_partner(emails=["n@x.test"], responsible=manager)

    consent.grant_consent(manager, "email", "n@x.test", source="paper", partner_id=partner.id)
    db.session.commit()

    entry = _entries("consent_granted")[0]
    assert (entry.root_type, entry.root_id, entry.user_id) == ("partner", partner.id, manager.id)


def test_an_sms_stop_is_a_withdrawal_in_the_numbers_consent_history(app, make_user, make_partner):
    from crm.messaging.sms_inbound import stop

    partner = make_partner(phones=["+7 916 123-45-67"])

    assert stop("8 916 123 45 67", "+79161234567") is True
    assert stop("8 916 123 45 67", "+79161234567") is False
    db.session.commit()

    sub = db.session.execute(select(Subscriber)).scalar_one()
    assert (sub.partner_id, sub.consent, sub.withdrawn_source) == (partner.id, False, "SMS STOP")
    assert [(e.granted, e.source) for e in history([sub.id])[sub.id]] == [(False, "SMS STOP")]
    assert db.session.execute(select(Suppression.reason)).scalar_one() == "stop"


def test_a_bounces_long_server_answer_is_cut_not_refused(app):
    answer = "550 5.1.1 " + "The email account that you tried to reach does not exist. " * 20

    assert suppression.suppress(None, "email", "gone@x.test", "bounced", note=answer)
    db.session.commit()

    note = db.session.execute(select(Suppression.note)).scalar_one()
    assert len(note) == 500 and note.startswith("550 5.1.1 The email account")
