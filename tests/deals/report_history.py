"""Small hand-built deal histories for the report tests (tests/deals/test_reports.py and
test_report_cli.py). Each builder documents the deals it creates; the tests work out the
expected numbers from these lists by hand."""

from datetime import date
from types import SimpleNamespace

# The funnel and effectiveness window: deals created (funnel) / closed (effectiveness) in Q1.
Q1 = (date(2026, 1, 1), date(2026, 3, 31))


def build_sales_history(make_user, make_partner, make_deal_kind, make_deal):
    """Kind "Sales" (Lead 1, Offer 2, Contract 3); managers anna, boris, clara (no closed deal).

    no   status reached  amount  created     closed      manager  reason
    S1   won    all      1000    2026-01-05  2026-02-04  anna     -          30 days
    S2   won    all      2000    2026-01-10  2026-03-01  anna     -          50 days
    S3   lost   2        500     2026-01-15  2026-02-14  anna     Price      30 days
    S4   lost   1        300     2026-02-01  2026-02-11  boris    Competitor 10 days
    S5   open   3        700     2026-02-10  -           boris
    S6   open   1        400     2026-03-05  -           clara
    S7   won    all      9999    2025-12-20  2026-01-20  anna     -          31 days (created before Q1)
    S8   open   2        800     2026-04-02  -           boris               (created after Q1)
    S9   lost   2        600     2026-03-20  2026-04-10  clara    Price      (closed after Q1)
    S10  lost   1        100     2026-01-20  2026-03-10  nobody   Price      49 days
    """
    anna = make_user("manager", email="anna@example.test", name="Anna Ivanova")
    boris = make_user("manager", email="boris@example.test", name="Boris Petrov")
    clara = make_user("manager", email="clara@example.test", name="Clara Sidorova")
    partner = make_partner(name="Альфа")
    kind = make_deal_kind(name="Sales", stages=("Lead", "Offer", "Contract"))
    d = date
    spec = [
        ("S1", "won", None, None, 1000, d(2026, 1, 5), d(2026, 2, 4), anna, None),
        ("S2", "won", None, None, 2000, d(2026, 1, 10), d(2026, 3, 1), anna, None),
        ("S3", "lost", 2, 2, 500, d(2026, 1, 15), d(2026, 2, 14), anna, "Price"),
        ("S4", "lost", 1, 1, 300, d(2026, 2, 1), d(2026, 2, 11), boris, "Competitor"),
        ("S5", "open", 3, 3, 700, d(2026, 2, 10), None, boris, None),
        ("S6", "open", 1, 1, 400, d(2026, 3, 5), None, clara, None),
        ("S7", "won", None, None, 9999, d(2025, 12, 20), d(2026, 1, 20), anna, None),
        ("S8", "open", 2, 2, 800, d(2026, 4, 2), None, boris, None),
        ("S9", "lost", 2, 2, 600, d(2026, 3, 20), d(2026, 4, 10), clara, "Price"),
        ("S10", "lost", 1, 1, 100, d(2026, 1, 20), d(2026, 3, 10), None, "Price"),
    ]
    deals = {}
    for no, status, stage, reached, amount, created, closed, manager, reason in spec:
        deals[no] = make_deal(
            partner,
            kind,
            manager=manager,
            stage=stage,
            status=status,
            amount=amount,
            created_on=created,
            closed_on=closed,
            loss_reason=reason,
            reached=reached,
            deal_no=no,
        )
    return SimpleNamespace(
        kind=kind, anna=anna, boris=boris, clara=clara, partner=partner, deals=deals
    )


def build_unreached_history(make_partner, make_deal_kind, make_deal):
    """Kind "Projects" (Brief 1, Design 2, Build 3) where nobody got to Build nor won:
    P1, P2 open at Brief, P3 lost at Design; created in Q1, amounts 100, 200, 300."""
    partner = make_partner()
    kind = make_deal_kind(name="Projects", stages=("Brief", "Design", "Build"))
    make_deal(partner, kind, stage=1, amount=100, created_on=date(2026, 1, 10), deal_no="P1")
    make_deal(partner, kind, stage=1, amount=200, created_on=date(2026, 2, 10), deal_no="P2")
    make_deal(
        partner,
        kind,
        stage=2,
        status="lost",
        amount=300,
        created_on=date(2026, 2, 12),
        closed_on=date(2026, 3, 1),
        loss_reason="Price",
        deal_no="P3",
    )
    return kind


# The forecast's as-of date and its expected numbers are worked out in the tests.
AS_OF = date(2026, 6, 30)


def build_forecast_history(make_user, make_partner, make_deal_kind, make_deal):
    """Kind F (S1 10 %, S2 40 %), kind G (Only 10 %); manager mila; partners p1 (history),
    p2 (none). Six closed deals before the as-of date, all of F, mila and p1:

    H1..H4 won (reached every stage), amounts 1000, 500, 250, 777, closed 2026-03-10,
           2026-03-20, 2026-05-05, 2025-05-31 (the last before the 12-month window)
    H5 lost at S1 (closed 2026-04-01), H6 lost at S2 (closed 2026-04-15)

    Open on 2026-06-30:
    F-1 F, S2, mila, p1, 1000, expected 2026-07-15
    F-2 F, S1, mila, p2,  300, expected 2026-07-20
    F-3 G, Only, nobody, p2, 150, expected 2026-08-10
    F-4 F, S2, mila, p1,  500, no expected close date
    F-6 F, S2, mila, p1, 2000, expected 2026-07-31, won later (closed 2026-07-10): open then
    Not open then: F-5 created 2026-07-05 (after the as-of date)."""
    mila = make_user("manager", email="mila@example.test", name="Mila Orlova")
    p1 = make_partner(name="History Ltd")
    p2 = make_partner(name="Newcomer Ltd")
    kind_f = make_deal_kind(name="F", stages=("S1", "S2"), probabilities=(10, 40))
    kind_g = make_deal_kind(name="G", stages=("Only",), probabilities=(10,))
    d = date
    created = d(2025, 1, 10)
    for no, amount, closed in [
        ("H1", 1000, d(2026, 3, 10)),
        ("H2", 500, d(2026, 3, 20)),
        ("H3", 250, d(2026, 5, 5)),
        ("H4", 777, d(2025, 5, 31)),
    ]:
        make_deal(
            p1, kind_f, manager=mila, stage=2, status="won", amount=amount,
            created_on=created, closed_on=closed, deal_no=no,
        )  # fmt: skip
    make_deal(
        p1, kind_f, manager=mila, stage=1, status="lost", amount=90, created_on=created,
        closed_on=d(2026, 4, 1), loss_reason="Price", deal_no="H5",
    )  # fmt: skip
    make_deal(
        p1, kind_f, manager=mila, stage=2, status="lost", amount=80, created_on=created,
        closed_on=d(2026, 4, 15), loss_reason="Price", deal_no="H6",
    )  # fmt: skip
    opened = d(2026, 5, 1)
    make_deal(p1, kind_f, manager=mila, stage=2, amount=1000, created_on=opened,
              expected_close=d(2026, 7, 15), deal_no="F-1")  # fmt: skip
    make_deal(p2, kind_f, manager=mila, stage=1, amount=300, created_on=opened,
              expected_close=d(2026, 7, 20), deal_no="F-2")  # fmt: skip
    make_deal(p2, kind_g, stage=1, amount=150, created_on=opened,
              expected_close=d(2026, 8, 10), deal_no="F-3")  # fmt: skip
    f4 = make_deal(p1, kind_f, manager=mila, stage=2, amount=500, created_on=opened,
                   deal_no="F-4")  # fmt: skip
    f4.expected_close = None
    make_deal(p1, kind_f, manager=mila, stage=2, amount=50, created_on=d(2026, 7, 5),
              expected_close=d(2026, 7, 25), deal_no="F-5")  # fmt: skip
    make_deal(p1, kind_f, manager=mila, stage=2, status="won", amount=2000, created_on=opened,
              closed_on=d(2026, 7, 10), expected_close=d(2026, 7, 31), deal_no="F-6")  # fmt: skip
    from crm.extensions import db

    db.session.commit()
    return SimpleNamespace(mila=mila, p1=p1, p2=p2, kind_f=kind_f, kind_g=kind_g)
