"""Plotly charts rendered on the server into HTML fragments (any domain may draw one).

plotly.js is served from static/ (vendored from the installed plotly package, version in the
path so it can be cached for long); pages load it only when they show a chart: a page drawing
charts in its body puts `plotly_js_tag()` into `{% block scripts %}`, and a chart that HTMX
loads later carries `data-plotly-src` so static/js/app.js fetches plotly.js before the chart.
A chart is a <div> with its figure as JSON in a data attribute, drawn by static/js/app.js.

To upgrade: `pip install plotly==…`, then
    python -c "from plotly.offline import get_plotlyjs_version as v; print(v())"
and copy plotly/package_data/plotly.min.js to static/vendor/plotly-<that version>/ (a test
checks that the two agree).
"""

from __future__ import annotations

import json

from flask import url_for
from markupsafe import Markup

PLOTLY_JS_VERSION = "4.1.1"
PLOTLY_JS = f"vendor/plotly-{PLOTLY_JS_VERSION}/plotly.min.js"
# No mode bar (zoom, download) on small card charts; resize with the column.
SMALL_CHART_CONFIG = {"displayModeBar": False, "responsive": True}


def plotly_js_url() -> str:
    return url_for("static", filename=PLOTLY_JS)


def plotly_js_tag() -> Markup:
    return Markup('<script src="{}"></script>').format(plotly_js_url())


def figure_html(fig, height: int = 260) -> Markup:
    """The figure as a <div> carrying its JSON (data, layout, config) in data attributes;
    static/js/app.js draws every such <div> when a page or an HTMX fragment loads. No inline
    script: the Content-Security-Policy runs scripts from static files only. The template
    "none" keeps each fragment small (the default one adds ~10 KB of styles)."""
    fig.update_layout(template="none", height=height, autosize=True)
    return Markup(
        '<div class="plotly-graph-div" style="height:{}px; width:100%;" data-plotly-figure="{}"'
        ' data-plotly-config="{}" data-plotly-src="{}"></div>'
    ).format(height, fig.to_json(), json.dumps(SMALL_CHART_CONFIG), plotly_js_url())
