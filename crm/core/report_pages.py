"""What every report page shares (deal reports, analytics): rounding for downloads, and the one
response a report view gives — a CSV/XLSX download (`?format=`), the chart fragment
(`?chart=1`, fetched when it comes into view), the results fragment (HTMX) or the whole page.

A report's page template shows its results in `#report-results` and includes
`_report/chart_slot.html` where the chart goes; `_report/downloads.html` draws the downloads."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from flask import request, url_for

from crm.charts import plotly_js_tag, plotly_js_url
from crm.exporting import EXPORT_FORMATS, export_response
from crm.htmx import is_fragment_request, render

TENTH = Decimal("0.1")
HUNDREDTH = Decimal("0.01")


def one_place(value) -> Decimal | None:
    """A percentage or a mean for a download: 1 place, None (an empty cell) when undefined."""
    return None if value is None else Decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP)


def two_places(value) -> Decimal | None:
    """A percentage for a download at 2 places (analytics.md: shares shown with 2)."""
    return None if value is None else Decimal(value).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def respond_report(
    endpoint: str,
    page: str,
    fragment: str,
    flt,
    chart_of: Callable[[], object] | None,
    export_of: Callable[[], tuple[str, list, object]],
    **context,
):
    """The download, the chart fragment, the results fragment or the whole page of a report.

    `flt` is the report's ListFilter (its `problems` make a download a 400: a file of other
    data than was asked for helps nobody); `export_of()` gives (file name, header, rows);
    `chart_of()` the chart's HTML."""
    fmt = request.args.get("format", "")
    status = 200
    if fmt in EXPORT_FORMATS and flt.problems:
        fmt, status = "", 400
    if fmt in EXPORT_FORMATS:
        name, header, rows = export_of()
        return export_response(fmt, name, [str(c) for c in header], rows)
    if chart_of is not None and request.args.get("chart") and status == 200:
        chart = chart_of()
        if is_fragment_request():
            return render("_report/chart.html", chart=chart)
        context.update(chart=chart, plotly_tag=plotly_js_tag())
    response = render(
        page,
        fragment,
        status=status,
        flt=flt,
        endpoint=endpoint,
        chart_url=url_for(endpoint, chart=1, **flt.params()),
        plotly_src=plotly_js_url(),
        **context,
    )
    if is_fragment_request():
        response.headers["HX-Push-Url"] = url_for(endpoint, **flt.params())
    return response
