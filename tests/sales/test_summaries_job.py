"""The monthly sales summaries are summed again by the periodic job and its command."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from crm.extensions import db
from crm.sales.models import SalesDirtyMonth, SalesPartnerMonth, SalesProductMonth
from tests.factories import create_document


def test_the_command_sums_the_marked_months_and_clears_the_marks(app, runner, make_partner):
    buyer = make_partner()
    create_document(buyer, amounts=(100, -30), date=date(2026, 3, 5))
    create_document(buyer, amounts=(50,), date=date(2026, 3, 20))
    create_document(buyer, amounts=(7.5,), date=date(2026, 5, 1))
    marked = db.session.execute(select(SalesDirtyMonth.month)).scalars().all()
    assert sorted(marked) == [date(2026, 3, 1), date(2026, 5, 1)]

    result = runner.invoke(args=["crm", "sales-summaries"])

    assert result.exit_code == 0, result.output
    assert "months summed: 2" in result.output
    assert db.session.execute(select(SalesDirtyMonth.month)).all() == []
    # March: 100 − 30 + 50 = 120 over 3 lines (2 purchases… in 2 documents); May: 7.50.
    partner_rows = db.session.execute(
        select(
            SalesPartnerMonth.month,
            SalesPartnerMonth.revenue,
            SalesPartnerMonth.documents,
            SalesPartnerMonth.purchase_lines,
        ).order_by(SalesPartnerMonth.month)
    ).all()
    assert [tuple(r) for r in partner_rows] == [
        (date(2026, 3, 1), Decimal("120.00"), 2, 2),
        (date(2026, 5, 1), Decimal("7.50"), 1, 1),
    ]
    product_revenue = db.session.execute(
        select(SalesProductMonth.month, SalesProductMonth.revenue).order_by(SalesProductMonth.month)
    ).all()
    assert sum(r[1] for r in product_revenue if r[0] == date(2026, 3, 1)) == Decimal("120.00")
    # Nothing marked: nothing to do.
    assert "months summed: 0" in runner.invoke(args=["crm", "sales-summaries"]).output
