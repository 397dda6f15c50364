"""The periodic refresh of segments: a periodic job (crm.core.periodic: `worker.py --cron` on RQ,
or the web process without Redis) refreshes every periodic segment whose schedule is due —
hourly, daily, weekly, or once a calendar month — each in its own transaction, and tells the
segment's owner who entered and left (once per refresh, in his language)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from crm.auth.models import User
from crm.core.i18n import in_language
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.notifications.services import notify
from crm.segments.models import Segment, SegmentRefresh
from crm.segments.services import refresh

log = logging.getLogger(__name__)

EVERY = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(days=7)}


def is_due(segment: Segment, now: datetime) -> bool:
    """Never refreshed, or its schedule's time has passed since the last refresh."""
    last = segment.refreshed_at
    if last is None:
        return True
    if segment.schedule == "monthly":
        return (last.year, last.month) < (now.year, now.month)
    return now - last >= EVERY.get(segment.schedule, timedelta(days=1))


def refresh_due_segments(now: datetime | None = None) -> dict[str, int]:
    """Refresh the periodic segments that are due; {"refreshed": n, "failed": n}."""
    now = now or utcnow()
    ids = (
        db.session.execute(
            select(Segment.id).where(Segment.kind == "periodic").order_by(Segment.id)
        )
        .scalars()
        .all()
    )
    counts = {"refreshed": 0, "failed": 0}
    for segment_id in ids:
        segment = db.session.get(Segment, segment_id)
        if segment is None or not is_due(segment, now):
            continue
        try:
            record = refresh(segment, at=now)
            _tell_owner(segment, record)
            db.session.commit()
            counts["refreshed"] += 1
        except Exception:
            # The next segments still get their turn; the error goes to the log.
            db.session.rollback()
            counts["failed"] += 1
            log.exception("segment %s could not be refreshed", segment_id)
    return counts


def _tell_owner(segment: Segment, record: SegmentRefresh) -> None:
    if segment.owner_id is None or not (record.entered or record.left):
        return
    owner = db.session.get(User, segment.owner_id)
    if owner is None or not owner.is_active:
        return
    with in_language(owner.locale):
        title = _(
            "Segment %(name)s: %(entered)s entered, %(left)s left",
            name=segment.name,
            entered=record.entered,
            left=record.left,
        )
    notify(owner.id, f"segment:{segment.id}:refresh:{record.id}", title)
