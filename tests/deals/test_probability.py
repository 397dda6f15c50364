"""A deal's probability from its four components (analytics.md, Deals) on a small history
worked out by hand, including the fewer-than-5 rule and a deal with no component left."""

from datetime import date
from decimal import Decimal

import pytest

from crm.deals.probability import probabilities, probability_of

AS_OF = date(2026, 6, 30)


@pytest.fixture
def history(app, make_user, make_partner, make_deal_kind, make_deal):
    m1, m2, m3 = make_user("manager"), make_user("manager"), make_user("manager")
    p1, p2, p3 = make_partner(), make_partner(), make_partner()
    k = make_deal_kind(stages=("A", "B", "C"), probabilities=(10, 30, 60))
    other = make_deal_kind(stages=(), process=False)
    fresh = make_deal_kind(stages=("S1",), probabilities=(35,))
    closed = {"closed_on": date(2026, 5, 1), "created_on": date(2026, 1, 5)}
    # Kind k, closed by the as-of date: 4 won, 5 lost.
    for _ in range(3):
        make_deal(p1, k, manager=m1, status="won", **closed)
    make_deal(p2, k, manager=m2, status="won", **closed)
    for _ in range(2):
        make_deal(p2, k, manager=m1, status="lost", stage="A", loss_reason="Дорого", **closed)
        make_deal(p1, k, manager=m2, status="lost", stage="B", loss_reason="Дорого", **closed)
    make_deal(p2, k, manager=m2, status="lost", stage="C", loss_reason="Дорого", **closed)
    # Closed after the as-of date: not in any rate.
    make_deal(p1, k, manager=m1, status="won", closed_on=date(2026, 7, 15))
    # Another kind: m1's, partner p2's; 2 won, 1 lost.
    for status in ("won", "won", "lost"):
        make_deal(p2, other, manager=m1, status=status, **closed)
    x = make_deal(p1, k, manager=m1, stage="B", deal_no="X")
    y = make_deal(p3, k, manager=m2, stage="C", deal_no="Y")
    z = make_deal(p3, fresh, manager=m3, stage="S1", deal_no="Z")
    future = make_deal(p1, k, manager=m1, created_on=date(2026, 7, 1), deal_no="F")
    return {"x": x, "y": y, "z": z, "future": future, "late": None}


def _pct(value: Decimal) -> str:
    return f"{value:.4f}"


def test_components_and_mean_worked_out_by_hand(history):
    p = probability_of(history["x"], AS_OF)
    # stage B of k: closed deals of k that reached B — the 4 won, 2 lost at B, 1 lost at C.
    assert (p.component("stage").won, p.component("stage").lost) == (4, 3)
    # m1: 3 won + 2 lost at A (kind k), 2 won + 1 lost (other kind); the July win is later.
    assert (p.component("manager").won, p.component("manager").lost) == (5, 3)
    # p1: 3 won (m1) + 2 lost at B (m2).
    assert (p.component("partner").won, p.component("partner").lost) == (3, 2)
    # kind k: 4 won, 5 lost.
    assert (p.component("kind").won, p.component("kind").lost) == (4, 5)
    # (4/7 + 5/8 + 3/5 + 4/9) / 4 × 100
    expected = (Decimal(400) / 7 + Decimal("62.5") + Decimal(60) + Decimal(400) / 9) / 4
    assert _pct(p.value) == _pct(expected) == "56.0218"
    assert not p.fallback


def test_components_under_five_closed_deals_are_left_out(history):
    p = probability_of(history["y"], AS_OF)
    # stage C: 4 won + 1 lost at C = 5 deals (used); m2: 1 won + 3 lost = 4 (left out);
    # p3: none (left out); kind: 4 / 9.
    assert [(c.key, c.closed, c.used) for c in p.components] == [
        ("stage", 5, True),
        ("manager", 4, False),
        ("partner", 0, False),
        ("kind", 9, True),
    ]
    assert _pct(p.value) == _pct((Decimal(80) + Decimal(400) / 9) / 2) == "62.2222"


def test_no_component_left_uses_the_stage_default(history):
    p = probability_of(history["z"], AS_OF)
    assert [c.closed for c in p.components] == [0, 0, 0, 0]
    assert p.fallback
    assert p.value == Decimal(35)


def test_bulk_probabilities_cover_deals_open_as_of_the_date(history):
    found = probabilities(AS_OF)
    by_no = {"X": history["x"].id, "Y": history["y"].id, "Z": history["z"].id}
    # The deal won on 15 July was still open on 30 June; the one created in July was not yet.
    assert history["future"].id not in found
    assert set(by_no.values()) <= set(found)
    assert len(found) == 4
    assert _pct(found[by_no["X"]].value) == "56.0218"
    assert _pct(found[by_no["Y"]].value) == "62.2222"
    assert found[by_no["Z"]].value == Decimal(35)


def test_the_threshold_is_a_setting(app, history):
    app.config["DEAL_PROBABILITY_MIN_CLOSED"] = 8
    try:
        p = probability_of(history["x"], AS_OF)
        # Only the manager (8) and the kind (9) rest on 8 or more deals.
        assert [c.key for c in p.used] == ["manager", "kind"]
        assert _pct(p.value) == _pct((Decimal("62.5") + Decimal(400) / 9) / 2)
    finally:
        app.config["DEAL_PROBABILITY_MIN_CLOSED"] = 5
