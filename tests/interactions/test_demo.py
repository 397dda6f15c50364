"""`crm demo` gives interactions: every kind over the last year, planned ones in the coming
month, threads of replies, and derived columns as the app keeps them. Every check reads the
table with its own queries and works out what it expects from the stored rows, never through
crm.interactions.demo or the services."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from crm.auth.models import User
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.interactions.models import Interaction, Participant
from crm.partners.models import ContactPerson


def _load(runner, partners: int = 60, seed: int = 7) -> list[Interaction]:
    result = runner.invoke(args=["crm", "demo", "--partners", str(partners), "--seed", str(seed)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return list(db.session.execute(select(Interaction).order_by(Interaction.id)).scalars())


def test_demo_interactions_cover_every_kind_the_past_year_and_the_coming_month(runner):
    items = _load(runner)
    now = utcnow()

    kinds = Counter(i.kind for i in items)
    assert set(kinds) == {"meeting", "planned", "call", "sms", "email"}, kinds
    assert kinds["call"] == max(kinds.values())  # calls are the most common
    assert min(i.starts_at for i in items) >= now - timedelta(days=366)
    assert min(i.starts_at for i in items) <= now - timedelta(days=300)
    coming = [i for i in items if now < i.starts_at <= now + timedelta(days=31)]
    assert len(coming) >= 5
    assert all(i.status == "planned" for i in coming)
    assert max(i.starts_at for i in items) <= now + timedelta(days=32)
    past = [i for i in items if i.starts_at < now]
    statuses = Counter(i.status for i in past)
    assert statuses["completed"] > 0.8 * len(past)
    assert statuses["planned"] > 0  # a few nobody closed: the unprocessed list shows them


def test_demo_interactions_are_well_formed(runner):
    items = _load(runner)
    staff = {
        u.id for u in db.session.execute(select(User)).scalars() if u.role in ("admin", "manager")
    }
    person_partner = dict(
        db.session.execute(select(ContactPerson.id, ContactPerson.partner_id)).all()
    )

    for i in items:
        assert i.responsible_id in staff, i.id
        assert i.partner_id is not None, i.id
        assert i.ends_at == i.starts_at + timedelta(minutes=i.duration_minutes), i.id
        assert (i.completed_at is not None) == (i.status == "completed"), i.id
        if i.contact_person_id is not None:
            assert person_partner[i.contact_person_id] == i.partner_id, i.id
        if i.kind in ("call", "sms", "email"):
            assert i.direction in ("outgoing", "incoming"), i.id
        else:
            assert i.direction == "", i.id
        if i.kind == "email":
            assert i.title and (i.address == "" or "@" in i.address), i.id
        if i.kind == "sms":
            assert i.description, i.id
        if i.kind == "meeting":
            assert 30 <= i.duration_minutes <= 120, i.id


def test_demo_due_time_is_the_open_start_or_the_follow_up(runner):
    items = _load(runner)

    wrong = []
    for i in items:
        moments = []
        if i.status in ("planned", "in_progress", "deferred"):
            moments.append(i.starts_at)
        if i.follow_up_at is not None and i.status != "cancelled":
            moments.append(i.follow_up_at)
        if i.due_at != (min(moments) if moments else None):
            wrong.append(i.id)

    assert wrong == []
    assert any(i.follow_up_at is not None for i in items)  # some wait for an answer
    assert any(i.due_at is not None and i.due_at <= utcnow() for i in items)


def test_demo_threads_chain_replies_to_their_first_interaction(runner):
    items = _load(runner)
    by_id = {i.id: i for i in items}

    replies = [i for i in items if i.parent_id is not None]
    assert len(replies) >= 10
    for i in items:
        first = i
        while first.parent_id is not None:
            parent = by_id[first.parent_id]
            assert parent.starts_at < first.starts_at, i.id  # a reply comes after
            assert parent.partner_id == first.partner_id, i.id
            first = parent
        assert i.chain_id == first.id, i.id
    email_replies = [i for i in replies if i.kind == "email" and by_id[i.parent_id].kind == "email"]
    assert email_replies
    assert all(
        i.title.startswith("Re: ") and not i.title.startswith("Re: Re:") for i in email_replies
    )


def test_demo_meetings_have_colleagues_taking_part(runner):
    items = _load(runner)
    meetings = {i.id: i for i in items if i.kind == "meeting"}
    rows = db.session.execute(select(Participant)).scalars().all()

    assert rows
    for p in rows:
        assert p.interaction_id in meetings
        assert p.user_id is not None and p.user_id != meetings[p.interaction_id].responsible_id


def test_demo_run_again_gives_interactions_only_to_partners_without_any(runner):
    first = _load(runner, partners=40)
    before = Counter(i.partner_id for i in first)

    again = _load(runner, partners=40, seed=8)

    after = Counter(i.partner_id for i in again)
    assert {pid: after[pid] for pid in before} == before
    assert set(after) - set(before)
