"""`crm demo` gives a few segments to open: a periodic one refreshed at once, two dynamic ones
from the templates and a manual call list of a manager's; a second run adds none. Members are
checked against the tables with the test's own queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from crm.auth.models import User
from crm.core.timeutil import site_today
from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import SalesDocument
from crm.segments.models import Segment, SegmentMember, SegmentRefresh


def _demo(runner) -> None:
    result = runner.invoke(args=["crm", "demo", "--partners", "60", "--seed", "7"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()


def test_demo_segments_have_owners_kinds_and_members(runner):
    _demo(runner)
    segments = {s.name: s for s in db.session.execute(select(Segment)).scalars()}
    assert {s.kind for s in segments.values()} == {"dynamic", "periodic", "manual"}
    periodic = next(s for s in segments.values() if s.kind == "periodic")
    assert (
        db.session.execute(
            select(func.count()).where(SegmentRefresh.segment_id == periodic.id)
        ).scalar_one()
        == 1
    )
    manual = next(s for s in segments.values() if s.kind == "manual")
    owner = db.session.get(User, manual.owner_id)
    assert owner.role == "manager"
    # The call list: the manager's partners with at least 100 000 of sales over 365 days.
    today = site_today()
    doc = SalesDocument
    revenue = (
        select(doc.partner_id, func.sum(doc.total))
        .join(Partner, Partner.id == doc.partner_id)
        .where(
            Partner.responsible_id == owner.id,
            doc.line_count > 0,
            doc.date > today - timedelta(days=365),
            doc.date <= today,
        )
        .group_by(doc.partner_id)
    )
    large = {pid for pid, total in db.session.execute(revenue) if Decimal(total) >= 100_000}
    stored = set(
        db.session.execute(
            select(SegmentMember.partner_id).where(SegmentMember.segment_id == manual.id)
        ).scalars()
    )
    assert stored == large and stored
    _demo(runner)
    assert db.session.execute(select(func.count()).select_from(Segment)).scalar_one() == len(
        segments
    )
