"""The rules of interactions kept by crm.interactions.services: derived columns (end, due
time), chains of replies and follow-ups, linking a chain to a subject, quick actions and
deletion. Expected values are worked out by hand from the inputs."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from crm.core.errors import DomainError, PermissionDenied
from crm.core.models import AuditEntry
from crm.extensions import db
from crm.interactions import services
from crm.interactions.models import Interaction
from crm.interactions.subjects import SUBJECT_TYPES, SubjectType, register_subject_type
from tests.partners.helpers import fresh

T = datetime(2026, 3, 2, 9, 0)  # a Monday, 09:00 UTC


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute)


@pytest.fixture
def staff(app, make_user, make_partner):
    manager = make_user("manager", name="Мария")
    colleague = make_user("manager", name="Пётр")
    admin = make_user("admin", name="Админ")
    partner = make_partner(name="Ромашка", responsible=manager)
    return {"manager": manager, "colleague": colleague, "admin": admin, "partner": partner}


def call(partner, **fields) -> dict:
    """The data of an outgoing call with `partner` at T, as a view passes it."""
    return {
        "kind": "call",
        "status": "completed",
        "direction": "outgoing",
        "partner_id": partner.id,
        "starts_at": T,
        **fields,
    }


@pytest.fixture
def deals(app, monkeypatch):
    """A throwaway subject type "deal" with objects 7 and 8; 8 is hidden from managers."""
    key = "deal"
    kind = SubjectType(
        key=key,
        title="Deal",
        describe=lambda ids: {i: (f"Deal #{i}", f"/deals/{i}") for i in ids if i in (7, 8)},
        can_view=lambda user, object_id: user.role != "manager" or object_id != 8,
    )
    monkeypatch.setitem(app.extensions, SUBJECT_TYPES.name, SUBJECT_TYPES.of(app).copy())
    register_subject_type(app, kind)
    return kind


# --- derived columns ------------------------------------------------------------------------

DUE_CASES = {
    # (status, starts_at, follow_up_at) -> due_at
    "planned: due at its start": ("planned", at(5, 10), None, at(5, 10)),
    "planned with an earlier follow-up": ("planned", at(5, 10), at(4, 12), at(4, 12)),
    "deferred: due at its start": ("deferred", at(6, 8), at(9, 8), at(6, 8)),
    "in progress": ("in_progress", at(3, 15), None, at(3, 15)),
    "completed: nothing pending": ("completed", at(2, 9), None, None),
    "completed waiting for an answer": ("completed", at(2, 9), at(4, 18, 30), at(4, 18, 30)),
    "cancelled, even with a follow-up": ("cancelled", at(2, 9), at(4, 18), None),
}


def test_due_time_is_an_open_items_start_or_its_follow_up_whichever_first(staff):
    found = {}
    for case, (status, start, follow_up, _) in DUE_CASES.items():
        i = services.create_interaction(
            staff["manager"],
            call(staff["partner"], status=status, starts_at=start, follow_up_at=follow_up),
        )
        found[case] = i.due_at

    assert found == {case: due for case, (*_, due) in DUE_CASES.items()}


def test_end_time_is_start_plus_duration_and_seconds_are_dropped(staff):
    i = services.create_interaction(
        staff["manager"],
        call(staff["partner"], starts_at=datetime(2026, 3, 2, 23, 50, 41, 9), duration_minutes=25),
    )

    assert (i.starts_at, i.ends_at) == (datetime(2026, 3, 2, 23, 50), datetime(2026, 3, 3, 0, 15))
    i = services.update_interaction(staff["manager"], i, {"duration_minutes": 0})
    assert i.ends_at == datetime(2026, 3, 2, 23, 50)


def test_search_text_holds_folded_title_contact_and_partner_name(staff):
    i = services.create_interaction(
        staff["manager"],
        call(
            staff["partner"],
            title="Сверка ЗАДОЛЖЕННОСТИ",
            contact_text="Ёлкин",
            description="Ждём акт",
        ),
    )

    assert i.search_text == "сверка задолженности елкин ждем акт ромашка"  # "ё" read as "е"


def test_only_managers_and_admins_record_interactions(staff, make_user):
    for role in ("viewer", "marketer"):
        with pytest.raises(PermissionDenied):
            services.create_interaction(make_user(role), call(staff["partner"]))
    assert db.session.execute(select(Interaction)).first() is None


# --- chains ---------------------------------------------------------------------------------


def test_replies_join_the_chain_of_the_first_interaction(staff):
    manager, partner = staff["manager"], staff["partner"]
    root = services.create_interaction(manager, call(partner))
    reply = services.create_interaction(manager, call(partner, parent_id=root.id, starts_at=at(3)))
    reply_of_reply = services.create_interaction(
        manager, call(partner, parent_id=reply.id, starts_at=at(4))
    )

    assert (root.parent_id, root.chain_id) == (None, root.id)
    assert (reply.parent_id, reply.chain_id) == (root.id, root.id)
    assert (reply_of_reply.parent_id, reply_of_reply.chain_id) == (reply.id, root.id)


def test_a_reply_clears_the_parents_follow_up_date(staff):
    manager, partner = staff["manager"], staff["partner"]
    sent = services.create_interaction(
        manager,
        {
            "kind": "email",
            "status": "completed",
            "direction": "outgoing",
            "partner_id": partner.id,
            "title": "КП",
            "starts_at": at(2),
            "follow_up_at": at(5),
        },
    )
    assert sent.due_at == at(5)

    services.create_interaction(
        manager,
        {
            "kind": "email",
            "status": "completed",
            "direction": "incoming",
            "partner_id": partner.id,
            "title": "Re: КП",
            "starts_at": at(3),
            "parent_id": sent.id,
        },
    )

    sent = fresh(Interaction, sent.id)
    assert (sent.follow_up_at, sent.due_at) == (None, None)
    changes = [
        e.changes
        for e in db.session.execute(
            select(AuditEntry).where(
                AuditEntry.object_type == "interaction",
                AuditEntry.object_id == sent.id,
                AuditEntry.action == "update",
            )
        ).scalars()
    ]
    assert changes == [{"follow_up_at": ["2026-03-05T09:00:00", None]}]


def test_a_participants_reply_leaves_the_owners_follow_up_alone(staff, make_interaction):
    # The colleague takes part (so he sees the item and may reply) but may not change it.
    sent = make_interaction(
        staff["manager"],
        "email",
        partner=staff["partner"],
        title="КП",
        status="completed",
        follow_up_at=at(5),
        participants=[staff["colleague"]],
    )

    reply = services.create_interaction(
        staff["colleague"],
        {
            "kind": "call",
            "status": "completed",
            "direction": "incoming",
            "contact_text": "Иван",
            "starts_at": at(3),
            "parent_id": sent.id,
        },
    )

    assert reply.chain_id == sent.id
    assert fresh(Interaction, sent.id).follow_up_at == at(5)


def test_a_reply_to_an_interaction_one_cannot_see_is_refused(staff, make_interaction):
    hidden = make_interaction(staff["colleague"], "call", partner=None, contact_text="x")

    with pytest.raises(DomainError) as exc:
        services.create_interaction(staff["manager"], call(staff["partner"], parent_id=hidden.id))

    assert exc.value.field_errors == {"parent_id": ["The interaction this answers does not exist."]}


@pytest.fixture
def two_threads(staff):
    """Thread A: a1 ← a2 ← a3 (each answers the one before); thread B: b1 alone."""
    manager, partner = staff["manager"], staff["partner"]
    a1 = services.create_interaction(manager, call(partner, title="a1"))
    a2 = services.create_interaction(
        manager, call(partner, title="a2", starts_at=at(3), parent_id=a1.id)
    )
    a3 = services.create_interaction(
        manager, call(partner, title="a3", starts_at=at(4), parent_id=a2.id)
    )
    b1 = services.create_interaction(manager, call(partner, title="b1", starts_at=at(1)))
    return {"a1": a1.id, "a2": a2.id, "a3": a3.id, "b1": b1.id}


def chains() -> dict[str, tuple[str | None, str]]:
    """title -> (parent's title, chain's first title), read back from the database."""
    db.session.expire_all()
    rows = db.session.execute(
        select(Interaction.id, Interaction.title, Interaction.parent_id, Interaction.chain_id)
    ).all()
    title = {row.id: row.title for row in rows}
    return {row.title: (title.get(row.parent_id), title[row.chain_id]) for row in rows}


def test_moving_an_item_to_another_parent_moves_its_replies_along(staff, two_threads):
    a2 = db.session.get(Interaction, two_threads["a2"])

    services.update_interaction(staff["manager"], a2, {"parent_id": two_threads["b1"]})

    assert chains() == {
        "a1": (None, "a1"),
        "a2": ("b1", "b1"),
        "a3": ("a2", "b1"),
        "b1": (None, "b1"),
    }


def test_detaching_an_item_starts_a_thread_of_its_own(staff, two_threads):
    a2 = db.session.get(Interaction, two_threads["a2"])

    services.update_interaction(staff["manager"], a2, {"parent_id": None})

    assert chains() == {
        "a1": (None, "a1"),
        "a2": (None, "a2"),
        "a3": ("a2", "a2"),
        "b1": (None, "b1"),
    }


def test_an_item_cannot_follow_itself_or_its_own_reply(staff, two_threads):
    a1 = db.session.get(Interaction, two_threads["a1"])
    problems = []
    for parent in (two_threads["a1"], two_threads["a3"]):
        with pytest.raises(DomainError) as exc:
            services.update_interaction(staff["manager"], a1, {"parent_id": parent})
        problems.append(exc.value.field_errors)

    assert problems == [{"parent_id": ["An interaction cannot follow itself."]}] * 2
    assert chains()["a1"] == (None, "a1")


def test_deleting_an_item_leaves_its_replies_as_a_thread_of_their_own(staff, two_threads):
    a1 = db.session.get(Interaction, two_threads["a1"])

    services.delete_interaction(staff["manager"], a1)

    assert chains() == {"a2": (None, "a2"), "a3": ("a2", "a2"), "b1": (None, "b1")}
    [entry] = (
        db.session.execute(select(AuditEntry).where(AuditEntry.action == "delete")).scalars().all()
    )
    assert (entry.object_id, entry.summary) == (two_threads["a1"], "deleted Phone call: a1")


def test_link_chain_makes_every_member_about_the_subject(staff, two_threads, deals):
    a3 = db.session.get(Interaction, two_threads["a3"])

    changed = services.link_chain(staff["manager"], a3, "deal", 7)

    assert changed == 3
    db.session.expire_all()
    subjects = dict(
        db.session.execute(
            select(Interaction.title, Interaction.subject_id).where(
                Interaction.subject_type == "deal"
            )
        ).all()
    )
    assert subjects == {"a1": 7, "a2": 7, "a3": 7}
    assert fresh(Interaction, two_threads["b1"]).subject_type == ""
    summaries = (
        db.session.execute(
            select(AuditEntry.summary).where(AuditEntry.summary == "linked to deal 7")
        )
        .scalars()
        .all()
    )
    assert len(summaries) == 3


def test_link_chain_to_an_unknown_kind_of_subject_is_refused(staff, two_threads):
    a1 = db.session.get(Interaction, two_threads["a1"])

    with pytest.raises(DomainError, match="Unknown kind of subject."):
        services.link_chain(staff["manager"], a1, "no-such-kind", 1)


def test_subject_must_exist_and_be_visible_to_the_user(staff, deals):
    manager, partner = staff["manager"], staff["partner"]
    problems = {}
    for object_id in (9, 8):
        with pytest.raises(DomainError) as exc:
            services.create_interaction(
                manager, call(partner, subject_type="deal", subject_id=object_id)
            )
        problems[object_id] = exc.value.field_errors
    linked = services.create_interaction(
        manager, call(partner, subject_type="deal", subject_id="7")
    )
    by_admin = services.create_interaction(
        staff["admin"], call(partner, subject_type="deal", subject_id=8)
    )

    assert problems == {
        9: {"subject_id": ["This deal does not exist."]},
        8: {"subject_id": ["You cannot see this deal."]},
    }
    assert (linked.subject_type, linked.subject_id) == ("deal", 7)
    assert (by_admin.subject_type, by_admin.subject_id) == ("deal", 8)


# --- quick actions --------------------------------------------------------------------------


def test_complete_records_the_outcome_and_when(staff, make_interaction):
    i = make_interaction(staff["manager"], "call", partner=staff["partner"], starts_at=at(2))

    services.complete(staff["manager"], i, "  Reached, agreed next step ")

    i = fresh(Interaction, i.id)
    assert (i.status, i.outcome, i.due_at) == ("completed", "Reached, agreed next step", None)
    assert i.completed_at is not None


def test_defer_moves_an_open_item_and_marks_it_deferred(staff, make_interaction):
    i = make_interaction(
        staff["manager"], "meeting", partner=staff["partner"], starts_at=at(2), duration_minutes=60
    )

    services.defer(staff["manager"], i, datetime(2026, 3, 9, 6, 30, 15))

    i = fresh(Interaction, i.id)
    assert (i.status, i.starts_at, i.ends_at, i.due_at) == (
        "deferred",
        at(9, 6, 30),
        at(9, 7, 30),
        at(9, 6, 30),
    )


def test_defer_without_a_date_is_refused(staff, make_interaction):
    i = make_interaction(staff["manager"], "call", partner=staff["partner"], starts_at=at(2))

    with pytest.raises(DomainError) as exc:
        services.defer(staff["manager"], i, None)

    assert exc.value.field_errors == {"until": ["Choose a date."]}
    assert fresh(Interaction, i.id).status == "planned"


def test_mark_processed_clears_the_follow_up_and_closes_an_open_item(staff, make_interaction):
    waiting = make_interaction(
        staff["manager"],
        "email",
        partner=staff["partner"],
        title="КП",
        status="completed",
        follow_up_at=at(4),
    )
    forgotten = make_interaction(
        staff["manager"], "call", partner=staff["partner"], status="planned", starts_at=at(1)
    )

    services.mark_processed(staff["manager"], waiting)
    services.mark_processed(staff["manager"], forgotten)

    waiting, forgotten = fresh(Interaction, waiting.id), fresh(Interaction, forgotten.id)
    assert (waiting.status, waiting.follow_up_at, waiting.due_at) == ("completed", None, None)
    assert (forgotten.status, forgotten.due_at) == ("completed", None)


def test_cancel_takes_an_item_off_the_due_list(staff, make_interaction):
    i = make_interaction(
        staff["manager"], "meeting", partner=staff["partner"], starts_at=at(2), follow_up_at=at(3)
    )

    services.cancel(staff["manager"], i)

    i = fresh(Interaction, i.id)
    assert (i.status, i.due_at, i.completed_at) == ("cancelled", None, None)


def test_quick_actions_of_someone_elses_item_are_refused(staff, make_interaction):
    i = make_interaction(
        staff["manager"],
        "call",
        partner=staff["partner"],
        starts_at=at(2),
        participants=[staff["colleague"]],
    )
    actions = {
        "complete": lambda u: services.complete(u, i),
        "defer": lambda u: services.defer(u, i, at(9)),
        "reschedule": lambda u: services.reschedule(u, i, at(9)),
        "cancel": lambda u: services.cancel(u, i),
        "processed": lambda u: services.mark_processed(u, i),
        "update": lambda u: services.update_interaction(u, i, {"title": "x"}),
        "delete": lambda u: services.delete_interaction(u, i),
    }
    title = i.title
    refused = []
    for name, action in actions.items():
        try:
            action(staff["colleague"])
        except PermissionDenied:
            refused.append(name)

    assert refused == list(actions)
    i = fresh(Interaction, i.id)
    assert (i.status, i.starts_at, i.title) == ("planned", at(2), title)
    services.reschedule(staff["admin"], i, at(9, 11))  # an admin may
    assert fresh(Interaction, i.id).starts_at == at(9, 11)


def test_log_and_plan_links_the_next_step_to_what_was_done(staff):
    manager, partner = staff["manager"], staff["partner"]

    done, nxt = services.log_and_plan(
        manager,
        call(partner, status="planned", subject_text="Поставка"),
        {"kind": "meeting", "title": "Визит", "starts_at": at(5), "duration_minutes": 60},
    )

    assert done.status == "completed"  # logged means it happened
    assert (nxt.status, nxt.kind, nxt.parent_id, nxt.chain_id) == (
        "planned",
        "meeting",
        done.id,
        done.id,
    )
    assert (nxt.partner_id, nxt.subject_text, nxt.direction) == (partner.id, "Поставка", "")
    assert nxt.due_at == at(5)
