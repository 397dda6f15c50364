"""The ABC/XYZ report page (`analytics.abc_xyz`): a filter form, the 3×3 matrix of classes
(counts, revenue, and for products the stock on hand), each cell, row and column drilling to its
objects (`?cell=AX`), the Pareto curve (drawn in the overview; alone with `?chart=1`) and
CSV/XLSX of the list (`?format=`).

The page itself returns at once without computing: its results come as an HTMX fragment
loaded on `load` behind a «Считаю…» indicator (the classification reads every sales line of the
window). Without JavaScript, `?now=1` computes the results into the page."""

from __future__ import annotations

import wtforms as wt
from flask import request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.routing import BuildError

from crm.analytics import abc_charts, abc_report, bp
from crm.analytics.abc_xyz import (
    DEFAULT_XYZ,
    AnalyticsError,
    Thresholds,
    abc_xyz,
    check_thresholds,
    default_thresholds,
)
from crm.analytics.cli import metric_text, pct_text
from crm.analytics.periods import (
    BUCKETS,
    DEFAULT_BUCKET,
    TwelveMonthsByDefault,
)
from crm.core.filters import (
    OWN_NARROWING,
    ChoiceField,
    DateField,
    FilterField,
    IdField,
    Ignored,
    ListFilter,
    PageField,
)
from crm.core.formats import fmt_percent
from crm.core.paging import Page
from crm.core.params import BadValue, parse_decimal
from crm.core.policy import requires
from crm.core.report_pages import respond_report, two_places
from crm.exporting import EXPORT_FORMATS
from crm.extensions import db
from crm.htmx import is_fragment_request, render
from crm.partners import queries as partner_queries
from crm.sales.models import Department, Organization, ProductGroup, Warehouse
from crm.sales.queries import local_today

PAGE_SIZE = 100
ENDPOINT = "analytics.abc_xyz"

OBJECT_CHOICES = {"products": _l("Products"), "partners": _l("Partners")}
METRIC_LABELS = {
    "revenue": _l("Revenue"),
    "profit": _l("Gross profit"),
    "quantity": _l("Quantity"),
    "sales": _l("Number of sales"),
}
BUCKET_LABELS = {"month": _l("Month"), "week": _l("Week"), "quarter": _l("Quarter")}


def _scope_field(label, fid: str, message):
    return IdField(label, id=fid, message=message, fixed=[("", _l("All"))])


class PercentField(FilterField, wt.StringField):
    """A threshold in percent (0–100 with up to 2 decimals); empty: the setting's."""

    def parse(self, raw: str):
        raw = raw.strip()
        if not raw:
            return None
        try:
            value = parse_decimal(raw, places=2, digits=3)
        except BadValue:
            raise Ignored(
                _("%(value)s is not a percentage: the setting is used.", value=repr(raw[:20]))
            ) from None
        if not 0 <= value <= 100:
            raise Ignored(
                _("%(value)s is not between 0 and 100 %%: the setting is used.", value=raw[:20])
            )
        return value


THRESHOLD_FIELDS = ("a_pct", "b_pct", "x_pct", "y_pct")


class AbcFilter(TwelveMonthsByDefault, ListFilter):
    """What the report is asked for; a bad value is replaced by its default and reported.
    A partner scope (a segment) keeps the sales to its partners (`scope()`)."""

    partner_column = OWN_NARROWING

    of = ChoiceField(
        _l("Classify"),
        OBJECT_CHOICES,
        default="products",
        id="f-of",
        message=_l("Unknown object {value} ignored: showing products."),
        cut=40,
    )
    date_from = DateField(_l("From"), name="from", what=_l("The start of the period"), id="f-from")
    date_to = DateField(_l("To"), name="to", what=_l("The end of the period"), id="f-to")
    bucket = ChoiceField(
        _l("Period bucket"),
        {b: BUCKET_LABELS[b] for b in BUCKETS},
        default=DEFAULT_BUCKET,
        id="f-bucket",
        message=_l("Unknown period bucket {value} ignored: by months."),
        cut=40,
    )
    abc_by = ChoiceField(
        _l("ABC by"),
        METRIC_LABELS,
        default="revenue",
        id="f-abc-by",
        message=_l("Unknown ABC metric {value} ignored: by revenue."),
        cut=40,
    )
    # "" = the object's default (quantity for products, revenue for partners)
    xyz_by = ChoiceField(
        _l("XYZ by"),
        METRIC_LABELS,
        blank=_l("Default"),
        id="f-xyz-by",
        message=_l("Unknown XYZ metric {value} ignored: the default is used."),
        cut=40,
    )
    organization = _scope_field(
        _l("Organization"), "f-organization", _l("Unknown organization ignored.")
    )
    department = _scope_field(_l("Department"), "f-department", _l("Unknown department ignored."))
    warehouse = _scope_field(_l("Warehouse"), "f-warehouse", _l("Unknown warehouse ignored."))
    manager = _scope_field(_l("Manager"), "f-manager", _l("Unknown manager ignored."))
    group = _scope_field(_l("Product group"), "f-group", _l("Unknown product group ignored."))
    cell = ChoiceField(
        _l("Cell"),
        {key: key for key in abc_report.SELECTIONS},
        id="f-cell",
        active=False,
        message=_l("Unknown cell {value} ignored."),
        cut=20,
    )
    a_pct = PercentField(_l("A up to, %"), id="f-a-pct")
    b_pct = PercentField(_l("B up to, %"), id="f-b-pct")
    x_pct = PercentField(_l("X: CV up to, %"), id="f-x-pct")
    y_pct = PercentField(_l("Y: CV up to, %"), id="f-y-pct")
    page = PageField(_l("Page"))

    def fill_choices(self) -> None:
        """The scope selects' options; an id that names nothing is dropped with a message."""
        named = {
            "organization": Organization,
            "department": Department,
            "warehouse": Warehouse,
            "group": ProductGroup,
        }
        for name, model in named.items():
            rows = db.session.execute(select(model.id, model.name).order_by(model.name)).all()
            self[name].options = [(i, n) for i, n in rows]
        self["xyz_by"].blank = _(
            "Default: %(metric)s", metric=METRIC_LABELS[DEFAULT_XYZ[self.of]].lower()
        )
        self._fill_thresholds()
        managers = partner_queries.responsible_choices()
        self["manager"].options = [(u.id, u.display_name) for u in managers]
        for name in (*named, "manager"):
            value = getattr(self, name)
            if value is not None and value not in {i for i, _n in self[name].options}:
                self.problems.append(str(self[name].message))
                setattr(self, name, None)

    def _fill_thresholds(self) -> None:
        """The thresholds asked for over the settings' (shown as placeholders); a set that does
        not hold together (A above B, Y below X) falls back to the settings with a message."""
        defaults = default_thresholds(self.of)
        for name in THRESHOLD_FIELDS:
            self[name].render_kw = {"placeholder": f"{getattr(defaults, name):g}"}
        asked = {name: getattr(self, name) for name in THRESHOLD_FIELDS}
        chosen = Thresholds(
            **{k: v if v is not None else getattr(defaults, k) for k, v in asked.items()}
        )
        try:
            check_thresholds(chosen)
        except AnalyticsError as exc:
            self.problems.append(_("%(error)s The settings are used.", error=exc.message))
            for name in THRESHOLD_FIELDS:
                setattr(self, name, None)
            chosen = defaults
        self.thresholds = chosen

    def scope(self) -> dict:
        return {
            "organization_id": self.organization,
            "department_id": self.department,
            "warehouse_id": self.warehouse,
            "manager_id": self.manager,
            "product_group_id": self.group,
            "partners": self.partner_ids(),
        }


def object_url(of: str, object_id: int) -> str | None:
    """The card of a classified object; None while products have no card (crm.sales adds
    `sales.product` in another part of this issue)."""
    try:
        if of == "partners":
            return url_for("partners.detail", partner_id=object_id)
        return url_for("sales.product", product_id=object_id)
    except BuildError:
        return None


def _compute(flt):
    """(result, matrix, stock) or Nones with the reason added to the filter's problems."""
    scope = flt.scope()
    try:
        result = abc_xyz(
            flt.of,
            flt.date_from,
            flt.date_to,
            abc_by=flt.abc_by,
            xyz_by=flt.xyz_by or None,
            bucket=flt.bucket,
            thresholds=flt.thresholds,
            **scope,
        )
    except AnalyticsError as exc:
        flt.problems.append(exc.message)
        return None, None, None
    stock = None
    if flt.of == "products":
        stock = abc_report.stock_by_product(flt.warehouse, flt.group)
    revenue = abc_report.revenue_by_object(result, scope)
    return result, abc_report.matrix(result, revenue, stock), stock


def export_columns(of: str) -> list[str]:
    """The CLI's columns (crm report abc-xyz), and for products the stock on hand."""
    header = ["code", "name", "abc_metric", "share_pct", "cum_pct", "abc", "cv_pct", "xyz"]
    return header + (["stock_quantity", "stock_value"] if of == "products" else [])


def export_rows(result, rows, stock):
    for r in rows:
        cells = [
            r.code,
            r.name,
            metric_text(r.abc_metric, result.abc_by),
            pct_text(r.share_pct),
            pct_text(r.cum_pct),
            r.abc,
            pct_text(r.cv_pct),
            r.xyz,
        ]
        if stock is not None:
            item = stock.get(r.object_id, abc_report.Stock())
            cells += [item.quantity, item.value]
        yield cells


@bp.route("/abc-xyz", endpoint="abc_xyz")
@requires("analytics.reports")
def abc_xyz_report():
    """ABC/XYZ of products or partners: the matrix, a cell's objects, the Pareto curve."""
    flt = AbcFilter(request.args, today=local_today(current_user))
    flt.fill_choices()
    title = _("ABC/XYZ analysis")
    lazy = not (
        is_fragment_request()
        or request.args.get("format") in EXPORT_FORMATS
        or request.args.get("chart")
        or request.args.get("now")
    )
    if lazy:
        # The page at once; #report-results fetches the same URL as a fragment on load.
        return render(
            "analytics/abc_xyz.html",
            flt=flt,
            endpoint=ENDPOINT,
            title=title,
            lazy=True,
            results_url=url_for(ENDPOINT, **flt.params()),
            show_url=url_for(ENDPOINT, now=1, **flt.params()),
            **_labels(flt),
        )
    result, grid, stock = _compute(flt)
    key = flt.cell or abc_report.ALL
    listing = abc_report.listing(result, key, current_user) if result else None
    page = None
    if listing is not None and flt.cell:
        pages = max(1, -(-len(listing.rows) // PAGE_SIZE))
        page_no = min(flt.page, pages)
        start = (page_no - 1) * PAGE_SIZE
        page = Page(listing.rows[start : start + PAGE_SIZE], len(listing.rows), page_no, PAGE_SIZE)

    def export():
        rows = listing.rows if listing else []
        name = f"abc-xyz-{flt.of}-{flt.date_from.isoformat()}-{flt.date_to.isoformat()}"
        if flt.cell:
            name += f"-{flt.cell}"
        return name, export_columns(flt.of), export_rows(result, rows, stock)

    context = {}
    overview = not (flt.cell or request.args.get("chart") or request.args.get("format"))
    if result and result.rows and overview:
        # The overview draws its curve in place (the chart slot's inline form): fetched apart
        # on "revealed", it would classify every sales line of the window a second time.
        context["chart"] = chart(result)
    return respond_report(
        ENDPOINT,
        "analytics/abc_xyz.html",
        "analytics/_abc_xyz_results.html",
        flt,
        (lambda: chart(result)) if result and result.rows else None,
        export,
        title=title,
        lazy=False,
        result=result,
        grid=grid,
        listing=listing,
        list_page=page,
        stock=stock,
        object_url=object_url,
        fast_cells=abc_report.FAST,
        slow_cells=abc_report.SLOW,
        **_labels(flt),
        **context,
    )


def chart(result):
    """The Pareto curve; a partner curve names only the partners the user may see."""
    visible = None
    if result.of == "partners":
        visible = abc_report.visible_partner_ids(current_user, (r.object_id for r in result.rows))
    return abc_charts.pareto_chart(result, visible)


def _labels(flt) -> dict:
    xyz_by = flt.xyz_by or DEFAULT_XYZ[flt.of]
    return {
        "abc_label": METRIC_LABELS[flt.abc_by],
        "xyz_label": METRIC_LABELS[xyz_by],
    }


@bp.app_template_filter("abc_pct")
def abc_pct(value) -> str:
    """`{{ r.share_pct|abc_pct }}`: a percentage (0..100) shown with 2 places, rounded half up
    (analytics.md); empty when undefined."""
    if value is None:
        return ""
    return fmt_percent(two_places(value) / 100, 2)
