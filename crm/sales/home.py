"""The sales block of My day (crm/dashboard/widgets.py): the overdue receivables of the day's
user's partners (of every partner the reader may see, for the team), largest first."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import lazy_gettext as _l

from crm.dashboard.widgets import Day, HomeWidget
from crm.sales.queries import receivable_rows

LIMIT = 5


def overdue_receivables(day: Day) -> str:
    manager = "" if day.user_id is None else str(day.user_id)
    rows = [r for r in receivable_rows(day.reader, day.today, manager, "-overdue") if r.overdue > 0]
    total = sum((r.overdue for r in rows), 0)
    link = url_for("sales.receivables", manager=manager or None, sort="-overdue")
    return render_template(
        "sales/_home_overdue.html", rows=rows[:LIMIT], count=len(rows), total=total, link=link
    )


WIDGET = HomeWidget("overdue-receivables", _l("Overdue receivables"), overdue_receivables, 60)
