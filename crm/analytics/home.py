"""The analytics block of My day (crm/dashboard/widgets.py): the day's user's clients (every
client the reader may see, for the team) whose stage declined between the two latest stage
snapshots — whom to call first, the largest revenue at the earlier snapshot first."""

from __future__ import annotations

from flask import current_app, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp

from crm.analytics.snapshot_queries import latest_stage_dates, moved_down
from crm.analytics.stages import LOST, NEW, ONE_TIME, POTENTIAL, REGULAR_X, REGULAR_Y, REGULAR_Z
from crm.core.policy import may_open
from crm.dashboard.widgets import Day, HomeWidget

LIMIT = 7

# "client stage" context: "New"/"Lost" name a deal's or an import row's state elsewhere.
STAGE_TITLES = {
    NEW: _lp("client stage", "New"),
    POTENTIAL: _lp("client stage", "Potential"),
    ONE_TIME: _lp("client stage", "One-time"),
    REGULAR_X: _lp("client stage", "Regular X"),
    REGULAR_Y: _lp("client stage", "Regular Y"),
    REGULAR_Z: _lp("client stage", "Regular Z"),
    LOST: _lp("client stage", "Lost"),
}


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
