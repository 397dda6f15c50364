"""Plotly figures of the ABC/XYZ report (drawn on the server, see crm/charts.py)."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup

from crm.analytics.abc_report import pareto_points
from crm.charts import figure_html
from crm.core.formats import plotly_separators

CLASS_COLORS = {"A": "#198754", "B": "#0d6efd", "C": "#adb5bd"}
MARGIN = {"l": 56, "r": 8, "t": 8, "b": 48}


def pareto_chart(result, visible: set[int] | None = None) -> Markup:
    """The Pareto curve of an ABC/XYZ result: the cumulative share of the metric against the
    objects in rank order, coloured by ABC class, with the A and B limits as lines. With
    `visible` (the partners a manager may see), the others' points keep their place on the
    curve but not their code and name."""
    import plotly.graph_objects as go  # a second to import: only when a chart is drawn

    points = pareto_points(result.rows)
    ranks = {id(r): i for i, r in enumerate(result.rows, start=1)}
    traces = []
    for abc in ("A", "B", "C"):
        mine = [r for r in points if r.abc == abc]
        if not mine:
            continue
        traces.append(
            go.Scatter(
                x=[ranks[id(r)] for r in mine],
                y=[float(r.cum_pct) if r.cum_pct is not None else None for r in mine],
                customdata=[
                    [r.code, r.name, r.abc_xyz]
                    if visible is None or r.object_id in visible
                    else ["", "—", r.abc_xyz]
                    for r in mine
                ],
                mode="lines+markers",
                marker={"color": CLASS_COLORS[abc], "size": 4},
                line={"color": CLASS_COLORS[abc]},
                name=abc,
                hovertemplate="%{x}. %{customdata[0]} %{customdata[1]}<br>%{y:.1f}% · "
                "%{customdata[2]}<extra></extra>",
            )
        )
    fig = go.Figure(traces)
    cfg = current_app.config
    for limit in (cfg["ABC_A_PCT"], cfg["ABC_B_PCT"]):
        fig.add_hline(y=float(limit), line={"dash": "dot", "color": "#6c757d", "width": 1})
    fig.update_layout(
        margin=MARGIN,
        separators=plotly_separators(),
        legend={"orientation": "h", "y": -0.2},
        xaxis={"title": {"text": _("Objects in rank order")}, "rangemode": "tozero"},
        yaxis={"title": {"text": _("Cumulative share, %")}, "range": [0, 101]},
    )
    return figure_html(fig, height=300)
