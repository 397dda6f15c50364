"""Plotly figures of the deal reports (drawn on the server, see crm/charts.py)."""

from __future__ import annotations

from flask_babel import gettext as _
from markupsafe import Markup

from crm.charts import figure_html
from crm.core.formats import fmt_date, fmt_money, fmt_number, fmt_percent, plotly_separators

WON_COLOR, LOST_COLOR, OPEN_COLOR, WEIGHTED_COLOR = "#198754", "#dc3545", "#0d6efd", "#6f42c1"
MARGIN = {"l": 56, "r": 8, "t": 8, "b": 56}


def _go():
    import plotly.graph_objects as go  # a second to import: only when a chart is drawn

    return go


def funnel_chart(rows) -> Markup:
    """The funnel: how many deals reached each stage, then how many were won."""
    go = _go()
    names = [_("Won") if r.is_won else r.stage.name for r in rows]
    conversions = [
        "" if r.conversion_pct is None else fmt_percent(r.conversion_pct / 100) for r in rows
    ]
    fig = go.Figure(
        go.Funnel(
            y=names,
            x=[r.reached for r in rows],
            customdata=[[fmt_money(r.amount), c] for r, c in zip(rows, conversions, strict=True)],
            hovertemplate="%{y}: %{x}<br>%{customdata[0]}<br>→ %{customdata[1]}<extra></extra>",
            textinfo="value",
            marker={"color": [WON_COLOR if r.is_won else OPEN_COLOR for r in rows]},
        )
    )
    fig.update_layout(margin={**MARGIN, "l": 10}, separators=plotly_separators())
    # Long stage names ("Коммерческое предложение") get the room they need, on a phone too.
    fig.update_yaxes(automargin=True)
    return figure_html(fig, height=max(220, 60 * len(rows)))


def effectiveness_chart(eff) -> Markup:
    """Deals won and lost per manager in the period (counts), with the open ones beside."""
    go = _go()
    names = [r.manager.display_name if r.manager else _("No manager") for r in eff.rows]

    def bars(title, values, color, amounts=None):
        return go.Bar(
            name=title,
            x=names,
            y=values,
            marker_color=color,
            customdata=amounts or [fmt_number(v, 0) for v in values],
            hovertemplate="%{x}: %{y} (%{customdata})<extra>" + title + "</extra>"
            if amounts
            else "%{x}: %{y}<extra>" + title + "</extra>",
        )

    fig = go.Figure(
        [
            bars(_("Won"), [r.won for r in eff.rows], WON_COLOR,
                 [fmt_money(r.won_amount) for r in eff.rows]),
            bars(_("Lost"), [r.lost for r in eff.rows], LOST_COLOR,
                 [fmt_money(r.lost_amount) for r in eff.rows]),
            bars(_("Open at the end"), [r.open for r in eff.rows], OPEN_COLOR),
        ]
    )  # fmt: skip
    fig.update_layout(
        barmode="group",
        margin=MARGIN,
        xaxis={"type": "category"},
        yaxis={"tickformat": ",d", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.25},
        separators=plotly_separators(),
    )
    return figure_html(fig, height=300)


def forecast_chart(fc) -> Markup:
    """Open deals' amounts and weighted amounts by month of expected close; won amounts of the
    past months beside them."""
    go = _go()
    rows = [r for r in fc.rows if r.month is not None]
    labels = [fmt_date(r.month, kind="short_month") for r in rows]

    def bars(title, values, color):
        return go.Bar(
            name=title,
            x=labels,
            # Floats only for drawing: the hover text shows the exact Decimal.
            y=[None if v is None else float(v) for v in values],
            customdata=[fmt_money(v) if v is not None else "" for v in values],
            hovertemplate="%{x}: %{customdata}<extra>" + title + "</extra>",
            marker_color=color,
        )

    fig = go.Figure(
        [
            bars(_("Won"), [r.won_amount for r in rows], WON_COLOR),
            bars(_("Amount"), [r.amount if r.deals else None for r in rows], OPEN_COLOR),
            bars(
                _("Weighted amount"),
                [r.weighted_amount if r.deals else None for r in rows],
                WEIGHTED_COLOR,
            ),
        ]
    )
    fig.update_layout(
        barmode="group",
        margin=MARGIN,
        xaxis={"type": "category", "tickangle": -45},
        yaxis={"tickformat": ",.0f", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.35},
        separators=plotly_separators(),  # 1 234 567 on the axis in Russian
    )
    return figure_html(fig, height=320)
