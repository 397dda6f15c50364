"""The BCG scatter (drawn on the server, see crm/charts.py): relative share on a log x axis,
growth % on y, a bubble per object sized by its revenue and coloured by its quadrant, the two
threshold lines, and a click on a bubble opening its list."""

from __future__ import annotations

from flask_babel import gettext as _
from markupsafe import Markup

from crm.analytics.bcg import QUADRANT_LABELS, QUADRANTS
from crm.charts import figure_html
from crm.core.formats import fmt_money, fmt_number, plotly_separators

COLORS = {"star": "#198754", "cash_cow": "#0d6efd", "question_mark": "#fd7e14", "dog": "#6c757d"}
# Where each quadrant's name goes (paper coordinates): high share is on the right.
CORNERS = {
    "star": (0.99, 0.99, "right", "top"),
    "question_mark": (0.01, 0.99, "left", "top"),
    "cash_cow": (0.99, 0.01, "right", "bottom"),
    "dog": (0.01, 0.01, "left", "bottom"),
}


def drawable(row) -> bool:
    """A point needs a growth (not new) and a positive relative share (log axis)."""
    return row.growth_pct is not None and row.relative_share is not None and row.revenue > 0


def bcg_chart(result, url_of) -> Markup:
    """The scatter of `result` (crm.analytics.bcg.BcgResult); `url_of(row)` is where a click
    on the row's bubble leads.

    Up to a few thousand points: the numbers go to plotly.js as arrays and are formatted by
    the hover template there (in the page's language: `separators`), which costs a fraction of
    formatting each one here; numpy arrays spare plotly.py checking each element."""
    import numpy as np
    import plotly.graph_objects as go  # a second to import: only when a chart is drawn

    rows = [r for r in result.rows if drawable(r)]
    biggest = max((float(r.revenue) for r in rows), default=1.0) or 1.0
    # The money pattern of the language ("1,00 ₽" / "₽1.00") around plotly's own number.
    before, _one, after = fmt_money(1).partition(fmt_number(1, 2))
    hover = (
        "%{customdata[1]}<br>"
        + _("Revenue")
        + f": {before}%{{customdata[2]:,.2f}}{after}<br>"
        + _("Growth")
        + ": %{y:,.1f} %<br>"
        + _("Relative share")
        + ": %{x:,.2f}<extra></extra>"
    )
    traces = []
    for quadrant in QUADRANTS:
        mine = [r for r in rows if r.quadrant == quadrant]
        if not mine:
            continue
        revenue = np.array([float(r.revenue) for r in mine])
        custom = np.empty((len(mine), 3), dtype=object)
        custom[:, 0] = [url_of(r) for r in mine]
        custom[:, 1] = [r.name for r in mine]
        custom[:, 2] = revenue
        traces.append(
            go.Scatter(
                name=str(QUADRANT_LABELS[quadrant]),
                mode="markers",
                # Floats only for drawing: the table and the downloads hold the exact values.
                x=np.array([float(r.relative_share) for r in mine]),
                y=np.array([float(r.growth_pct) for r in mine]),
                marker={
                    "size": 8 + 32 * np.sqrt(revenue / biggest),
                    "color": COLORS[quadrant],
                    "opacity": 0.75,
                    "line": {"width": 1, "color": "#fff"},
                },
                customdata=custom,
                hovertemplate=hover,
            )
        )
    fig = go.Figure(traces)
    share, growth = float(result.share_limit), float(result.growth_limit)
    fig.add_vline(x=share, line={"color": "#495057", "width": 1, "dash": "dash"})
    fig.add_hline(y=growth, line={"color": "#495057", "width": 1, "dash": "dash"})
    for quadrant, (x, y, xanchor, yanchor) in CORNERS.items():
        fig.add_annotation(
            x=x,
            y=y,
            xref="paper",
            yref="paper",
            xanchor=xanchor,
            yanchor=yanchor,
            text=str(QUADRANT_LABELS[quadrant]),
            showarrow=False,
            font={"color": COLORS[quadrant]},
        )
    fig.update_layout(
        margin={"l": 56, "r": 8, "t": 8, "b": 48},
        xaxis={"type": "log", "title": {"text": _("Relative share (log scale)")}},
        yaxis={"title": {"text": _("Revenue growth, %")}, "ticksuffix": "%"},
        legend={"orientation": "h", "y": -0.2},
        separators=plotly_separators(),
    )
    return figure_html(fig, height=420, links=True)
