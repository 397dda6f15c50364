"""The analytics block of My day (crm/dashboard/widgets.py): the day's user's clients (every
client the reader may see, for the team) whose stage declined between the two latest stage
snapshots — whom to call first, the largest revenue at the earlier snapshot first."""

from __future__ import annotations

from flask import current_app, render_template, url_for
from flask_babel import lazy_gettext as _l

from crm.analytics.snapshot_queries import latest_stage_dates, moved_down
from crm.analytics.stage_labels import STAGE_TITLES
from crm.core.policy import may_open
from crm.dashboard.widgets import Day, HomeWidget

LIMIT = 7


def moved_down_widget(day: Day) -> str:
    dates = latest_stage_dates()
    rows = moved_down(day.reader, day.user_id, *dates) if dates else []
    link = None
    # The transitions page is another part of analytics: linked once it is there.
    exists = "analytics.transitions" in current_app.view_functions
    if dates and exists and may_open("analytics.transitions"):
        start, end = dates
        link = url_for(
            "analytics.transitions", from_date=start.isoformat(), to_date=end.isoformat()
        )
    return render_template(
        "analytics/_home_moved_down.html",
        rows=rows[:LIMIT],
        count=len(rows),
        dates=dates,
        titles=STAGE_TITLES,
        link=link,
    )


WIDGET = HomeWidget("moved-down", _l("Clients who moved down"), moved_down_widget, 45)
