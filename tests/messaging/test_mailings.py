"""Marketing mailings' writes: a draft's values, versioned and audited edits, the partners
added by hand (crm/messaging/services.py), and the state machine (crm/messaging/
mailing_states.py) — which moves are allowed, which are refused and with what message (the
desk of tests/messaging/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.core.errors import DomainError
from crm.core.models import AuditEntry
from crm.core.timeutil import utcnow
from crm.core.versioning import StaleRecord
from crm.extensions import db
from crm.messaging import mailing_states, services
from crm.messaging.models import Mailing, MailingPartner, Message
from crm.messaging.services import MailingData


def hand_picked(mailing) -> set[int]:
    return set(
        db.session.execute(
            select(MailingPartner.partner_id).where(MailingPartner.mailing_id == mailing.id)
        ).scalars()
    )


def audit_actions(mailing) -> list[tuple[str, dict]]:
    rows = db.session.execute(
        select(AuditEntry.action, AuditEntry.changes)
        .where(AuditEntry.object_type == "mailing", AuditEntry.object_id == mailing.id)
        .order_by(AuditEntry.id)
    )
    return [(a, c) for a, c in rows]


def states(mailing) -> dict[str, str]:
    rows = db.session.execute(
        select(Message.address, Message.state).where(Message.mailing_id == mailing.id)
    )
    return dict(rows.all())


# --- drafts ---------------------------------------------------------------------------------


def test_a_draft_keeps_its_values_and_the_partners_its_author_may_see(desk):
    data = MailingData(
        name="  Весенняя   распродажа ",
        channel="email",
        template_id=desk.letter.id,
        group_id=desk.promo.id,
        tracking=True,
        scheduled_at=utcnow().replace(microsecond=0) + timedelta(days=2),
    )
    # Anna (a manager) may see P1 and P2, not Boris's P3.
    ids = [desk.p[c].id for c in ("P1", "P2", "P3")]
    mailing = services.create_mailing(desk.anna, data, ids)
    db.session.commit()

    assert (mailing.name, mailing.state, mailing.channel) == (
        "Весенняя распродажа",
        "draft",
        "email",
    )
    assert (mailing.template_id, mailing.group_id, mailing.tracking) == (
        desk.letter.id,
        desk.promo.id,
        True,
    )
    assert mailing.created_by_id == desk.anna.id
    assert hand_picked(mailing) == {desk.p["P1"].id, desk.p["P2"].id}
    assert audit_actions(mailing) == [
        ("create", {}),
        ("update", {"partners_added": [None, 2]}),
    ]


def test_an_sms_mailing_is_never_tracked(desk):
    mailing = services.create_mailing(
        desk.marketer,
        MailingData(name="SMS", channel="sms", template_id=desk.sms.id, tracking=True),
    )
    assert mailing.tracking is False


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"name": " "}, "name", "A mailing needs a name."),
        ({"name": "x" * 201}, "name", "A name has at most 200 characters."),
        ({"channel": "fax"}, "channel", "A mailing goes by e-mail or SMS."),
        ({"template_id": 999}, "template_id", "Unknown template."),
        ({"group_id": 999}, "group_id", "Unknown mailing group."),
        ({"scope_key": "nowhere", "scope_value": "1"}, "scope", "Unknown recipient list."),
        ({"scope_key": "segment", "scope_value": "999"}, "scope", "Unknown segment ignored."),
        ({"scope_key": "segment", "scope_value": "x1"}, "scope", "Choose the recipient list"),
    ],
)
def test_bad_draft_values_are_refused_next_to_their_field(desk, change, field, message):
    values = {"name": "M", "template_id": desk.letter.id, "group_id": desk.promo.id, **change}
    with pytest.raises(DomainError) as refused:
        services.create_mailing(desk.marketer, MailingData(**values))
    assert refused.value.field_errors[field][0].startswith(message)
    db.session.rollback()
    assert db.session.execute(select(func.count(Mailing.id))).scalar_one() == 0


def test_a_template_of_the_other_channel_a_switched_off_group_and_a_past_time_are_refused(desk):
    desk.service.is_active = False
    db.session.commit()
    data = MailingData(
        name="M",
        channel="sms",
        template_id=desk.letter.id,
        group_id=desk.service.id,
        scheduled_at=utcnow() - timedelta(minutes=1),
    )
    with pytest.raises(DomainError) as refused:
        services.create_mailing(desk.marketer, data)
    assert refused.value.field_errors == {
        "template_id": ["The template Spring letter is for another channel."],
        "group_id": ["The group Service notices is switched off."],
        "send_at": ["Choose a time in the future."],
    }


def test_a_draft_edit_is_versioned_and_audited(desk, make_mailing):
    mailing = make_mailing(desk, name="Old", partners=["P1", "P2"])
    opened_at = mailing.version

    services.update_mailing(
        desk.marketer,
        mailing,
        MailingData(
            name="New", channel="email", template_id=desk.letter.id, group_id=desk.promo.id
        ),
        add_ids=[desk.p["P3"].id],
        remove_ids=[desk.p["P1"].id],
        version=opened_at,
    )
    db.session.commit()

    assert mailing.name == "New" and mailing.version == opened_at + 1
    assert hand_picked(mailing) == {desk.p["P2"].id, desk.p["P3"].id}
    assert audit_actions(mailing)[-1] == (
        "update",
        {"name": ["Old", "New"], "partners_removed": [None, 1], "partners_added": [None, 1]},
    )

    # A second form opened before that save is refused with what changed, and changes nothing.
    with pytest.raises(StaleRecord) as stale:
        services.update_mailing(
            desk.marketer,
            mailing,
            MailingData(
                name="Other", channel="email", template_id=desk.letter.id, group_id=desk.promo.id
            ),
            remove_all=True,
            version=opened_at,
        )
    db.session.rollback()
    assert [c.values for c in stale.value.changes][0]["name"] == ("Old", "New")
    db.session.refresh(mailing)
    assert mailing.name == "New"
    assert hand_picked(mailing) == {desk.p["P2"].id, desk.p["P3"].id}


def test_removing_every_partner_added_by_hand(desk, make_mailing):
    mailing = make_mailing(desk, partners=["P1", "P2", "P3"])
    data = MailingData(name="M", template_id=desk.letter.id, group_id=desk.promo.id)
    services.update_mailing(desk.marketer, mailing, data, remove_all=True)
    assert hand_picked(mailing) == set()


@pytest.mark.parametrize("state", ["scheduled", "sending", "done", "cancelled"])
def test_only_a_draft_can_be_edited(desk, make_mailing, state):
    mailing = make_mailing(desk, name="Kept", state=state)
    with pytest.raises(DomainError) as refused:
        services.update_mailing(desk.marketer, mailing, MailingData(name="Changed"))
    assert "Only a draft can be changed" in refused.value.message
    db.session.rollback()
    assert db.session.get(Mailing, mailing.id).name == "Kept"


def test_codes_name_the_live_partners_the_user_may_see(desk):
    from crm.partners.services import merge_partners

    # P2 merged into P1: its code now names P1.
    merge_partners(desk.admin, desk.p["P1"], desk.p["P2"], {})
    db.session.commit()
    codes = services.split_codes("P1, P2\nP3;P4\tNOPE")
    assert codes == ["P1", "P2", "P3", "P4", "NOPE"]

    ids, unknown = services.partner_ids_for_codes(desk.anna, codes)

    assert ids == [desk.p["P1"].id]
    assert unknown == ["NOPE", "P3", "P4"]  # Boris's partners read as unknown to Anna
    assert services.partner_ids_for_codes(desk.marketer, codes) == (
        sorted([desk.p["P1"].id, desk.p["P3"].id, desk.p["P4"].id]),
        ["NOPE"],
    )


def test_merging_two_partners_of_one_mailing_keeps_one_row(desk, make_mailing):
    from crm.partners.services import merge_partners

    both = make_mailing(desk, partners=["P1", "P2"])
    other_only = make_mailing(desk, partners=["P2"])

    merge_partners(desk.admin, desk.p["P1"], desk.p["P2"], {})
    db.session.commit()

    assert hand_picked(both) == {desk.p["P1"].id}
    assert hand_picked(other_only) == {desk.p["P1"].id}


# --- scheduling -----------------------------------------------------------------------------


def test_scheduling_a_ready_draft_at_a_time(desk, make_mailing):
    at = utcnow().replace(microsecond=0) + timedelta(hours=3)
    mailing = make_mailing(desk, partners=["P1"], scheduled_at=at)

    mailing_states.schedule(desk.marketer, mailing, mailing.scheduled_at)
    db.session.commit()

    assert (mailing.state, mailing.scheduled_at) == ("scheduled", at)
    assert audit_actions(mailing)[-1] == ("update", {"state": ["draft", "scheduled"]})


def test_scheduling_is_refused_without_template_group_or_recipients(desk, make_mailing):
    mailing = make_mailing(desk, template_id=None, group_id=None)
    with pytest.raises(DomainError) as refused:
        mailing_states.schedule(desk.marketer, mailing)
    assert refused.value.message == (
        "The mailing cannot be sent yet: Choose a template. Choose a mailing group. "
        "Choose the recipients: a segment, or partners added by hand."
    )
    db.session.rollback()
    assert db.session.get(Mailing, mailing.id).state == "draft"


@pytest.mark.parametrize(
    "subject, html, reason",
    [
        ("{{ ''.__class__.__mro__ }}", "<p>Hi</p>", "does not render"),
        ("Hello", "<p>{{ partner.name </p>", "does not render"),
        ("", "<p>Hi</p>", "has no subject"),
    ],
)
def test_scheduling_is_refused_when_the_template_does_not_render(
    desk, make_mailing, make_template, subject, html, reason
):
    broken = make_template("Broken", ru={"subject": subject, "body_html": html, "body_text": "Hi"})
    mailing = make_mailing(desk, partners=["P1"], template_id=broken.id)
    with pytest.raises(DomainError) as refused:
        mailing_states.schedule(desk.marketer, mailing)
    assert reason in refused.value.message
    db.session.rollback()
    assert db.session.get(Mailing, mailing.id).state == "draft"


def test_scheduling_is_refused_when_the_time_has_passed(desk, make_mailing):
    mailing = make_mailing(desk, partners=["P1"])
    with pytest.raises(DomainError) as refused:
        mailing_states.schedule(desk.marketer, mailing, utcnow() - timedelta(seconds=5))
    assert refused.value.message.startswith("The time to send it has passed")


def test_a_mailing_whose_segment_was_deleted_cannot_be_scheduled(desk, make_mailing):
    from crm.segments.services import create_segment, delete_segment

    segment = create_segment(desk.marketer, "Clients", "manual")
    mailing = make_mailing(desk, scope_key="segment", scope_value=str(segment.id))
    delete_segment(desk.marketer, segment)
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        mailing_states.schedule(desk.marketer, mailing)
    assert "The recipient list cannot be used: Unknown segment ignored." in refused.value.message


@pytest.mark.parametrize("state", ["scheduled", "sending", "done", "cancelled"])
def test_only_a_draft_can_be_scheduled_or_deleted(desk, make_mailing, state):
    mailing = make_mailing(desk, partners=["P1"], state=state)
    with pytest.raises(DomainError) as scheduling:
        mailing_states.schedule(desk.marketer, mailing)
    with pytest.raises(DomainError) as deleting:
        mailing_states.delete_mailing(desk.marketer, mailing)
    title = {"scheduled": "Scheduled", "sending": "Sending", "done": "Done"}.get(state, "Cancelled")
    assert scheduling.value.message == (
        f"Only a draft can be scheduled; this mailing is in state «{title}»."
    )
    assert (
        deleting.value.message
        == f"Only a draft can be deleted; this mailing is in state «{title}»."
    )
    db.session.rollback()
    assert db.session.get(Mailing, mailing.id).state == state


def test_send_now_makes_a_draft_or_a_scheduled_mailing_due_at_once(desk, make_mailing):
    later = utcnow() + timedelta(days=1)
    draft = make_mailing(desk, partners=["P1"], scheduled_at=later)
    scheduled = make_mailing(desk, partners=["P1"], state="scheduled", scheduled_at=later)

    mailing_states.send_now(desk.marketer, draft)
    mailing_states.send_now(desk.marketer, scheduled)
    db.session.commit()

    assert (draft.state, draft.scheduled_at) == ("scheduled", None)
    assert (scheduled.state, scheduled.scheduled_at) == ("scheduled", None)


@pytest.mark.parametrize("state", ["sending", "done", "cancelled"])
def test_send_now_is_refused_once_the_mailing_has_started_or_ended(desk, make_mailing, state):
    mailing = make_mailing(desk, partners=["P1"], state=state)
    with pytest.raises(DomainError) as refused:
        mailing_states.send_now(desk.marketer, mailing)
    assert refused.value.message.startswith("Only a draft or a scheduled mailing can be sent now")


def test_send_now_of_an_unready_draft_is_refused(desk, make_mailing):
    mailing = make_mailing(desk, template_id=None, partners=["P1"])
    with pytest.raises(DomainError) as refused:
        mailing_states.send_now(desk.marketer, mailing)
    assert refused.value.message == "The mailing cannot be sent yet: Choose a template."


def test_a_scheduled_mailing_goes_back_to_draft_and_only_it(desk, make_mailing):
    mailing = make_mailing(desk, partners=["P1"], state="scheduled")
    mailing_states.unschedule(desk.marketer, mailing)
    assert mailing.state == "draft"
    with pytest.raises(DomainError) as refused:
        mailing_states.unschedule(desk.marketer, mailing)
    assert refused.value.message.startswith("Only a scheduled mailing can go back to draft")


# --- cancel, delete, copy -------------------------------------------------------------------


@pytest.mark.parametrize("state", ["scheduled", "sending"])
def test_cancel_cancels_the_queued_messages_and_leaves_the_others(
    desk, make_mailing, state, make_message
):
    mailing = make_mailing(desk, partners=["P1", "P3"], state=state)
    other = make_mailing(desk, state="sending")
    p1, p3 = desk.p["P1"], desk.p["P3"]
    make_message("a@x.test", mailing=mailing, partner=p1, state="queued")
    make_message("ann@x.test", mailing=mailing, partner=p1, state="queued", attempts=1)
    make_message(
        "c@x.test", mailing=mailing, partner=p3, state="sent", attempts=1, sent_at=utcnow()
    )
    make_message("d@x.test", mailing=mailing, state="sending", claimed_by="worker-1")
    make_message("f@x.test", mailing=mailing, state="failed", error="550 no such user")
    make_message("a@x.test", mailing=other, partner=p1, state="queued")

    cancelled = mailing_states.cancel(desk.marketer, mailing)
    db.session.commit()

    assert cancelled == 2
    assert mailing.state == "cancelled" and mailing.finished_at is not None
    assert states(mailing) == {
        "a@x.test": "cancelled",
        "ann@x.test": "cancelled",
        "c@x.test": "sent",
        "d@x.test": "sending",  # a worker holds it: it goes out
        "f@x.test": "failed",
    }
    assert states(other) == {"a@x.test": "queued"}
    assert audit_actions(mailing)[-1][1]["messages_cancelled"] == [None, 2]
    assert audit_actions(mailing)[-1][1]["state"] == [state, "cancelled"]


@pytest.mark.parametrize("state", ["draft", "done", "cancelled"])
def test_cancel_is_refused_unless_scheduled_or_sending(desk, make_mailing, state, make_message):
    mailing = make_mailing(desk, partners=["P1"], state=state)
    make_message("a@x.test", mailing=mailing, partner=desk.p["P1"], state="queued")
    with pytest.raises(DomainError) as refused:
        mailing_states.cancel(desk.marketer, mailing)
    assert refused.value.message.startswith(
        "Only a scheduled mailing or one being sent can be cancelled"
    )
    db.session.rollback()
    assert states(mailing) == {"a@x.test": "queued"}
    assert db.session.get(Mailing, mailing.id).state == state


def test_a_cancel_after_the_mailing_ended_elsewhere_is_refused(desk, make_mailing):
    """The row is read again when moving: a mailing another process finished meanwhile (this
    session still holding it as "sending") is not cancelled."""
    mailing = make_mailing(desk, partners=["P1"], state="sending")
    assert mailing.state == "sending"  # loaded in this session
    with db.engine.begin() as other_process:
        other_process.execute(
            Mailing.__table__.update().where(Mailing.id == mailing.id).values(state="done")
        )
    with pytest.raises(DomainError) as refused:
        mailing_states.cancel(desk.marketer, mailing)
    assert refused.value.message.endswith("this one is in state «Done».")


def test_deleting_a_draft_removes_it_with_its_partners(desk, make_mailing):
    mailing = make_mailing(desk, partners=["P1", "P2"])
    mailing_id = mailing.id
    mailing_states.delete_mailing(desk.marketer, mailing)
    db.session.commit()
    assert db.session.get(Mailing, mailing_id) is None
    assert db.session.execute(select(func.count()).select_from(MailingPartner)).scalar_one() == 0
    assert audit_actions(mailing)[-1][0] == "delete"


def test_a_copy_is_a_new_draft_with_the_values_and_partners(desk, make_mailing):
    later = utcnow().replace(microsecond=0) + timedelta(days=3)
    done = make_mailing(
        desk,
        name="Sale",
        partners=["P1", "P3"],
        state="done",
        tracking=True,
        scheduled_at=utcnow() - timedelta(days=1),
        total=7,
    )
    planned = make_mailing(desk, name="Later", state="scheduled", scheduled_at=later)

    copy = mailing_states.duplicate(desk.admin, done)
    second = mailing_states.duplicate(desk.admin, planned)
    db.session.commit()

    assert (copy.name, copy.state, copy.total, copy.tracking) == ("Sale (copy)", "draft", 0, True)
    assert (copy.template_id, copy.group_id) == (desk.letter.id, desk.promo.id)
    assert copy.scheduled_at is None  # its time had passed
    assert copy.created_by_id == desk.admin.id
    assert hand_picked(copy) == {desk.p["P1"].id, desk.p["P3"].id}
    assert hand_picked(done) == {desk.p["P1"].id, desk.p["P3"].id}
    assert (second.state, second.scheduled_at) == ("draft", later)


def test_an_unknown_code_refuses_the_whole_draft_with_its_other_problems(desk):
    with pytest.raises(DomainError) as refused:
        services.create_mailing(
            desk.anna, MailingData(name="", group_id=desk.promo.id), codes=["P1", "P3", "NOPE"]
        )
    # P3 is Boris's: to Anna it is unknown too.
    assert refused.value.field_errors == {
        "name": ["A mailing needs a name."],
        "codes": ["Not found or not yours: NOPE, P3."],
    }
    db.session.rollback()
    assert db.session.execute(select(func.count(Mailing.id))).scalar_one() == 0
