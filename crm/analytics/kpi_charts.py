"""The KPI dashboard's monthly trend: one small Plotly bar chart per KPI that adds up by month
(revenue, gross profit, sales, average check, active clients), drawn on the server.

The months shown are the 12 calendar months ending with the period's last month, reaching further
back when the period and its previous period start earlier (at most MAX_MONTHS). Bars of the
period's months are blue, those of the previous period grey-blue, the others light grey; the last
month is cut at the period's end, so it may be a part of a month."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from markupsafe import Markup

from crm.analytics.kpi import Scope, TrendRow, previous_period, trend
from crm.analytics.periods import bucket_start
from crm.charts import figure_html
from crm.core.formats import fmt_date, fmt_money, fmt_number, plotly_separators

MONTHS, MAX_MONTHS = 12, 120
CURRENT, PREVIOUS, OTHER = "#0d6efd", "#8fa9c9", "#d3d7dc"


def _months_before(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


def chart_window(start: date, end: date) -> tuple[date, date]:
    """The first day of the first month shown, and the last day shown (the period's end)."""
    last_month = bucket_start(end)
    p0_start = previous_period(start, end)[0]
    first = min(_months_before(last_month, MONTHS - 1), bucket_start(p0_start))
    return max(first, _months_before(last_month, MAX_MONTHS - 1)), end


def _series(rows: list[TrendRow]) -> dict[str, list]:
    checks = [r.revenue / r.sales if r.sales else None for r in rows]
    return {
        "revenue": [r.revenue for r in rows],
        "gross_profit": [r.gross_profit for r in rows],
        "sales": [r.sales for r in rows],
        "average_check": checks,
        "active_clients": [r.active_clients for r in rows],
    }


def trend_charts(start: date, end: date, scope: Scope, titles: dict) -> Markup:
    """A grid of small charts, one per KPI of the trend; `titles` names the KPIs."""
    import plotly.graph_objects as go  # a second to import: only when a chart is drawn

    first, last = chart_window(start, end)
    rows = trend(first, last, scope)
    p0_start = previous_period(start, end)[0]
    p_first, p0_first = bucket_start(start), bucket_start(p0_start)
    colours = [
        CURRENT if r.month >= p_first else PREVIOUS if r.month >= p0_first else OTHER for r in rows
    ]
    labels = [fmt_date(r.month, kind="short_month") for r in rows]
    cells = []
    for name, values in _series(rows).items():
        money = name in ("revenue", "gross_profit", "average_check")
        shown = ["—" if v is None else fmt_money(v) if money else fmt_number(v, 0) for v in values]
        fig = go.Figure(
            go.Bar(
                x=labels,
                y=[None if v is None else float(v) for v in values],  # floats only to draw
                customdata=shown,
                hovertemplate="%{x}: %{customdata}<extra></extra>",
                marker_color=colours,
            )
        )
        fig.update_layout(
            title={"text": str(titles[name]), "font": {"size": 13}, "x": 0, "xanchor": "left"},
            margin={"l": 48, "r": 8, "t": 28, "b": 64},
            xaxis={"type": "category", "tickangle": -45},
            yaxis={"tickformat": ",.0f", "zeroline": True},
            bargap=0.2,
            showlegend=False,
            separators=plotly_separators(),
        )
        cells.append(
            Markup('<div class="col-12 col-md-6 col-xl-4" id="kpi-trend-{}">{}</div>').format(
                name, figure_html(fig, height=240)
            )
        )
    legend = Markup('<p class="small text-body-secondary mb-1">{}</p>').format(
        _(
            "Months from %(first)s to %(last)s. Blue: the months of the period; light blue: of the "
            "previous period; grey: earlier months. The last month ends on %(last)s.",
            first=fmt_date(first),
            last=fmt_date(last),
        )
    )
    return legend + Markup('<div class="row g-2" id="kpi-trends">{}</div>').format(
        Markup("").join(cells)
    )
