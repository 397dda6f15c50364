"""The Plotly Sankey diagram of the transition report: the clients' stages at the first
snapshot on the left, at the second on the right, a band per non-empty cell (declines in the
matrix's yellow and red)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from crm.analytics.stage_labels import stage_title
from crm.analytics.stages import STAGES, TARGET_STAGES
from crm.charts import figure_html
from crm.core.formats import fmt_date, fmt_money, fmt_number, plotly_separators

BAND_COLOURS = {
    "red": "rgba(220, 53, 69, 0.55)",
    "yellow": "rgba(255, 193, 7, 0.6)",
    None: "rgba(108, 117, 125, 0.3)",
}
NODE_COLOUR = "#0d6efd"


def sankey_chart(report) -> Markup:
    """Who moved where between the two month ends."""
    import plotly.graph_objects as go  # a second to import: only when a chart is drawn

    left = [s for s in STAGES if report.row_totals.get(s)]
    right = [s for s in TARGET_STAGES if any(c.target == s for c in report.cells)]
    index = {("a", s): n for n, s in enumerate(left)}
    index.update({("b", s): len(left) + n for n, s in enumerate(right)})
    start, end = fmt_date(report.start), fmt_date(report.end)
    labels = [f"{stage_title(s)} · {start}" for s in left] + [
        f"{stage_title(s)} · {end}" for s in right
    ]
    notes = []
    for c in report.cells:
        text = ngettext(
            "%(count)s client", "%(count)s clients", c.partners, count=fmt_number(c.partners, 0)
        )
        if c.lost_revenue is not None:
            text += " · " + _("lost revenue %(amount)s", amount=fmt_money(c.lost_revenue))
        notes.append(text)
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": labels, "color": NODE_COLOUR, "pad": 14, "thickness": 14},
            link={
                "source": [index[("a", c.source)] for c in report.cells],
                "target": [index[("b", c.target)] for c in report.cells],
                "value": [c.partners for c in report.cells],
                "color": [BAND_COLOURS[c.colour] for c in report.cells],
                "customdata": notes,
                "hovertemplate": "%{source.label} → %{target.label}<br>%{customdata}"
                "<extra></extra>",
            },
        )
    )
    fig.update_layout(margin={"l": 8, "r": 8, "t": 8, "b": 8}, separators=plotly_separators())
    return figure_html(fig, height=max(280, 44 * max(len(left), len(right), 1)))
