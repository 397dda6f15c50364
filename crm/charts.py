"""Plotly charts rendered on the server into HTML fragments (any domain may draw one).

plotly.js is served from static/ (vendored from the installed plotly package, version in the
path so it can be cached for long); pages load it only when they show a chart: a page drawing
charts in its body puts `plotly_js_tag()` into `{% block scripts %}`, and a chart that HTMX
loads later carries `data-plotly-src` so static/js/app.js fetches plotly.js before the chart.
A chart is a <div> with its figure as JSON in a data attribute, drawn by static/js/app.js.

plotly.js would add its own CSS as a style element, which the Content-Security-Policy
refuses; a <link id="plotly.js-style-global" class="no-inline-styles"> to plotly.css (the same
rules, taken from plotly.min.js) makes it skip that.

To upgrade: `pip install plotly==…`, then
    python -c "from plotly.offline import get_plotlyjs_version as v; print(v())"
copy plotly/package_data/plotly.min.js to static/vendor/plotly-<that version>/ and write its
CSS beside it with `python -m crm.charts` (tests check that the files agree).
"""

from __future__ import annotations

import json
import re

from flask import url_for
from markupsafe import Markup

PLOTLY_JS_VERSION = "4.1.1"
PLOTLY_JS = f"vendor/plotly-{PLOTLY_JS_VERSION}/plotly.min.js"
PLOTLY_CSS = f"vendor/plotly-{PLOTLY_JS_VERSION}/plotly.css"
# plotly.js also adds MapLibre's CSS (for map traces) as a style element unless an element with this
# id exists: maplibre.css beside plotly.css, linked with this id (static/js/app.js has it too).
MAPLIBRE_CSS = f"vendor/plotly-{PLOTLY_JS_VERSION}/maplibre.css"
MAPLIBRE_STYLE_ID = "9f215cf04c5486422605d13261cb87401f4e7763b6296af81e98efbc0130da53"
# No mode bar (zoom, download) on small card charts; resize with the column.
SMALL_CHART_CONFIG = {"displayModeBar": False, "responsive": True}


def plotly_js_url() -> str:
    return url_for("static", filename=PLOTLY_JS)


def plotly_js_tag() -> Markup:
    """plotly.js and its stylesheet (static/js/app.js adds the same link when it loads it)."""
    return Markup(
        '<link id="plotly.js-style-global" class="no-inline-styles" rel="stylesheet" href="{}">'
        '<link id="{}" rel="stylesheet" href="{}">'
        '<script src="{}"></script>'
    ).format(
        url_for("static", filename=PLOTLY_CSS),
        MAPLIBRE_STYLE_ID,
        url_for("static", filename=MAPLIBRE_CSS),
        plotly_js_url(),
    )


def figure_html(fig, height: int = 260, links: bool = False) -> Markup:
    """The figure as a <div> carrying its JSON (data, layout, config) in data attributes;
    static/js/app.js draws every such <div> when a page or an HTMX fragment loads. No inline
    script: the Content-Security-Policy runs scripts from static files only. The template
    "none" keeps each fragment small (the default one adds ~10 KB of styles).

    With `links`, a click on a point opens the address in its `customdata[0]` (a path of this
    app: drill-down from a chart)."""
    fig.update_layout(template="none", height=height, autosize=True)
    return Markup(
        '<div class="plotly-graph-div" data-plotly-figure="{}"'
        ' data-plotly-config="{}" data-plotly-src="{}"{}></div>'
    ).format(
        fig.to_json(),
        json.dumps(SMALL_CHART_CONFIG),
        plotly_js_url(),
        Markup(" data-plotly-links") if links else "",
    )


# plotly.js keeps its CSS as an object literal {"X,X div": "direction:ltr;…", Y: "…"} whose X
# and Y stand for the plot and notifier selectors; each rule is inserted at the top of the
# sheet, so the last one comes first.
_CSS_START = '"X,X div"'
_JS_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|([A-Za-z_$][\w$]*)(?=:)')


def plotly_css(plotly_js: str) -> str:
    """The stylesheet plotly.js would inject, read from the text of plotly.min.js."""
    start = plotly_js.index(_CSS_START)
    literal = plotly_js[start : plotly_js.index("};for(", start)]
    strings, pos = [], 0
    for m in _JS_TOKEN.finditer(literal):
        if literal[pos : m.start()].strip() not in ("", ":", ","):
            raise ValueError(f"unexpected text in plotly's CSS at {start + pos}")
        double, single, name = m.groups()
        if double is not None:
            strings.append(json.loads(f'"{double}"'))
        elif single is not None:
            strings.append(json.loads('"' + single.replace("\\'", "'").replace('"', '\\"') + '"'))
        else:
            strings.append(name)
        pos = m.end()
    rules = []
    for key, body in zip(strings[::2], strings[1::2], strict=True):
        selector = re.sub(r"^,", " ,", key).replace("X", ".js-plotly-plot .plotly")
        rules.append(f"{selector.replace('Y', '.plotly-notifier')}{{{body}}}")
    header = f"/* plotly.js {PLOTLY_JS_VERSION} CSS, written by `python -m crm.charts`. */"
    return "\n".join([header, *reversed(rules)]) + "\n"


def maplibre_css(plotly_js: str) -> str:
    """MapLibre's stylesheet as plotly.min.js would inject it (a single-quoted string)."""
    m = re.search(
        r'getElementById\("'
        + MAPLIBRE_STYLE_ID
        + r'"\)\)\{var e=document\.createElement\("style"\);'
        r'e\.id="' + MAPLIBRE_STYLE_ID + r'",e\.textContent=\'((?:[^\'\\]|\\.)*)\'',
        plotly_js,
    )
    if m is None:
        raise ValueError("MapLibre's CSS (or its id) changed in plotly.min.js")
    return json.loads('"' + m.group(1).replace("\\'", "'").replace('"', '\\"') + '"') + "\n"


if __name__ == "__main__":
    from pathlib import Path

    static = Path(__file__).resolve().parent.parent / "static"
    css = plotly_css((static / PLOTLY_JS).read_text(encoding="utf-8"))
    (static / PLOTLY_CSS).write_text(css, encoding="utf-8")
    js = (static / PLOTLY_JS).read_text(encoding="utf-8")
    (static / MAPLIBRE_CSS).write_text(maplibre_css(js), encoding="utf-8")
