"""Plotly figures of the sales pages (drawn on the server, see crm/charts.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from markupsafe import Markup

from crm.charts import figure_html
from crm.core.formats import fmt_date, fmt_money, plotly_separators


def monthly_totals_chart(months: list[tuple[date, Decimal]]) -> Markup:
    """A small bar chart of Σ document totals per month (returns make a bar negative)."""
    import plotly.graph_objects as go  # a second to import: only when a chart is drawn

    labels = [fmt_date(m, kind="short_month") for m, _ in months]
    # Floats only for drawing: the hover text shows the exact Decimal.
    values = [float(total) for _, total in months]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=values,
            customdata=[fmt_money(total) for _, total in months],
            hovertemplate="%{x}: %{customdata}<extra></extra>",
            marker_color=["#0d6efd" if v >= 0 else "#dc3545" for v in values],
        )
    )
    fig.update_layout(
        margin={"l": 56, "r": 8, "t": 8, "b": 56},
        xaxis={"type": "category", "tickangle": -45},
        yaxis={"tickformat": ",.0f", "zeroline": True},
        bargap=0.2,
        separators=plotly_separators(),  # 1 234 567 on the axis in Russian
    )
    return figure_html(fig, height=260)
