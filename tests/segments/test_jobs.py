"""The periodic refresh of segments: which are due by their schedule, the job refreshing them
(inline and through a real RQ worker process on Redis), telling the owner who entered and left
once per refresh, and running twice changing nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.notifications.models import Notification
from crm.partners.models import Partner
from crm.segments.jobs import is_due, refresh_due_segments
from crm.segments.models import Segment, SegmentRefresh
from crm.segments.services import create_segment, members
from tests.factories import create_partner

MOSCOW = {"type": "partner.city", "cities": ["Москва"]}
NOW = datetime(2026, 12, 5, 12, 0)


@pytest.mark.parametrize(
    ("schedule", "last", "due"),
    [
        ("hourly", NOW - timedelta(minutes=59), False),
        ("hourly", NOW - timedelta(minutes=60), True),
        ("daily", NOW - timedelta(hours=23), False),
        ("daily", NOW - timedelta(hours=24), True),
        ("weekly", NOW - timedelta(days=6), False),
        ("weekly", NOW - timedelta(days=7), True),
        ("monthly", datetime(2026, 12, 1, 0, 5), False),
        ("monthly", datetime(2026, 11, 30, 23, 55), True),
        ("daily", None, True),
    ],
)
def test_a_schedule_is_due_when_its_time_has_passed(schedule, last, due):
    segment = Segment(name="s", kind="periodic", schedule=schedule, refreshed_at=last)
    assert is_due(segment, NOW) is due


def setup_segment(make_user):
    owner = make_user(role="marketer", locale="ru")
    k1 = create_partner("К1", code="K1", city="Москва", commit=False)
    k2 = create_partner("К2", code="K2", city="Казань", commit=False)
    segment = create_segment(owner, "Москва ежедневно", "periodic", MOSCOW, schedule="daily")
    db.session.commit()
    return owner, segment.id, k1.id, k2.id


def move_to_moscow(partner_id: int) -> None:
    from crm.partners.services import sync_search

    p = db.session.get(Partner, partner_id)
    p.city = "Москва"
    sync_search(p)
    db.session.commit()


def test_the_job_refreshes_what_is_due_tells_the_owner_once_and_twice_changes_nothing(
    app, make_user
):
    owner, sid, k1, k2 = setup_segment(make_user)
    move_to_moscow(k2)
    later = datetime.utcnow() + timedelta(days=1, minutes=1)
    assert refresh_due_segments(later) == {"refreshed": 1, "failed": 0}
    assert members(db.session.get(Segment, sid)) == [k1, k2]
    note = db.session.execute(select(Notification)).scalar_one()
    assert note.user_id == owner.id
    assert note.title == "Сегмент Москва ежедневно: вошли 1, вышли 0"
    # The same moment again: nothing is due, nothing is told again.
    assert refresh_due_segments(later) == {"refreshed": 0, "failed": 0}
    assert db.session.execute(select(SegmentRefresh)).all().__len__() == 2  # creation + job
    assert len(db.session.execute(select(Notification)).all()) == 1


def test_a_real_worker_runs_the_periodic_job(rq_app, make_user):
    from crm.jobs import get_queue
    from tests.core.helpers import run_worker

    _owner, sid, k1, k2 = setup_segment(make_user)
    move_to_moscow(k2)
    db.session.execute(
        Segment.__table__.update()
        .where(Segment.id == sid)
        .values(refreshed_at=datetime.utcnow() - timedelta(days=2))
    )
    db.session.commit()
    get_queue().enqueue(refresh_due_segments)  # as worker.py --cron does
    get_queue().enqueue(refresh_due_segments)  # twice: the second finds nothing due
    result = run_worker(rq_app)
    assert result.returncode == 0, result.stdout + result.stderr
    db.session.expire_all()
    assert members(db.session.get(Segment, sid)) == [k1, k2]
    refreshes = db.session.execute(
        select(SegmentRefresh.entered, SegmentRefresh.left).order_by(SegmentRefresh.id)
    ).all()
    assert [tuple(r) for r in refreshes] == [(1, 0), (1, 0)]  # creation, then the worker's
