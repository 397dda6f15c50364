"""The median days in stage behind the stale flag, worked out by hand: odd and even counts,
equal entry times, closed deals left out, the deals without a stage of each kind as one stage
of that kind, and the kinds asked for only."""

from datetime import datetime, timedelta

from crm.deals.stale import stage_medians

NOW = datetime(2026, 6, 30, 12, 0)


def _at(days: int, hours: int = 0) -> datetime:
    """Entered `days` whole days (and `hours` more) before NOW."""
    return NOW - timedelta(days=days, hours=hours)


def test_medians_by_hand(app, make_user, make_partner, make_deal_kind, make_deal):
    m, p = make_user("manager"), make_partner()
    k = make_deal_kind(stages=("A", "B", "C"))
    bare = make_deal_kind(stages=(), process=False)
    bare2 = make_deal_kind(stages=(), process=False)
    # Stage A: 1, 3, 10 days (3 hours more each: still whole days) → median 3.
    for days in (10, 1, 3):
        make_deal(p, k, manager=m, stage="A", stage_entered_at=_at(days, 3))
    # A closed deal that sat in A for 400 days counts for nothing.
    make_deal(
        p,
        k,
        manager=m,
        stage="A",
        status="lost",
        loss_reason="Price",
        closed_on=NOW.date(),
        stage_entered_at=_at(400),
    )
    # Stage B: 2, 4, 6, 100 days → (4 + 6) / 2 = 5.
    for days in (100, 6, 2, 4):
        make_deal(p, k, manager=m, stage="B", stage_entered_at=_at(days))
    # Stage C: 5, 5 (the same moment) → 5.
    for _ in range(2):
        make_deal(p, k, manager=m, stage="C", stage_entered_at=_at(5))
    # Without a stage: 7 and 9 days in one kind (→ 8), 1 day in another (with the next: 0, 1 → 0.5).
    make_deal(p, bare, manager=m, stage_entered_at=_at(7))
    make_deal(p, bare, manager=m, stage_entered_at=_at(9))
    make_deal(p, bare2, manager=m, stage_entered_at=_at(1))
    # Entered in the future (clock skew) counts as 0 days.
    make_deal(p, bare2, manager=m, stage_entered_at=NOW + timedelta(hours=2))

    a, b, c = (s.id for s in k.stages)
    staged = {(k.id, a): 3.0, (k.id, b): 5.0, (k.id, c): 5.0}
    assert stage_medians([k.id], NOW) == staged
    assert stage_medians([bare.id, bare2.id], NOW) == {(bare.id, None): 8.0, (bare2.id, None): 0.5}
    assert stage_medians([bare.id], NOW) == {(bare.id, None): 8.0}
    assert stage_medians(None, NOW) == {**staged, (bare.id, None): 8.0, (bare2.id, None): 0.5}
    assert stage_medians([k.id + bare.id + bare2.id + 1000], NOW) == {}
