"""The BCG matrix page `analytics.bcg`: a filter form (period, products or groups, scope), the
four quadrants with their counts and revenue (each opening its list), a Plotly scatter whose
points open the list (or, for a group, the matrix of its products), the table of objects
(paged) and CSV/XLSX downloads. The page itself returns at once; the results are fetched as an
HTMX fragment when the page loads (`hx-trigger="load"`), with a progress indicator."""

from __future__ import annotations

from flask import request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_login import current_user
from sqlalchemy import select

from crm.analytics import bp
from crm.analytics.bcg import NO_GROUP, QUADRANT_LABELS, QUADRANTS, bcg
from crm.analytics.bcg_chart import bcg_chart
from crm.analytics.bcg_cli import money_text, share_text
from crm.analytics.periods import TwelveMonthsByDefault
from crm.core.filters import (
    OWN_NARROWING,
    ChoiceField,
    DateField,
    FlagField,
    IdField,
    ListFilter,
    PageField,
)
from crm.core.paging import Page
from crm.core.policy import requires
from crm.core.report_pages import one_place, respond_report
from crm.exporting import EXPORT_FORMATS
from crm.extensions import db
from crm.htmx import is_fragment_request
from crm.partners import queries as partner_queries
from crm.sales.models import Department, Organization, ProductGroup, Warehouse
from crm.sales.queries import local_today

PER_PAGE = 100

# (field name, model, message) of the scope filters drawn as selects of names.
NAMED_SCOPES = (
    ("organization", Organization, _l("Unknown organization ignored.")),
    ("department", Department, _l("Unknown department ignored.")),
    ("warehouse", Warehouse, _l("Unknown warehouse ignored.")),
    ("product_group", ProductGroup, _l("Unknown product group ignored.")),
)


def _scope_field(label, any_label, message, field_id):
    return IdField(label, id=field_id, message=message, fixed=[("", any_label)])


class BcgFilter(TwelveMonthsByDefault, ListFilter):
    """Period (default: the 12 complete months before today's month), products or groups, the
    scope of the sales documents and a product group, the quadrant listed, the page. A
    partner scope (a segment) keeps the sales to its partners."""

    partner_column = OWN_NARROWING

    by = ChoiceField(
        _l("Show"),
        [("products", _l("Products")), ("groups", _l("Product groups"))],
        default="products",
        id="f-by",
        message=_l("Unknown choice {value} ignored: showing products."),
        cut=40,
    )
    date_from = DateField(_l("From"), name="from", what=_l("The start of the period"), id="f-from")
    date_to = DateField(_l("To"), name="to", what=_l("The end of the period"), id="f-to")
    organization = _scope_field(
        _l("Organization"), _l("Any organization"), NAMED_SCOPES[0][2], "f-organization"
    )
    department = _scope_field(
        _l("Department"), _l("Any department"), NAMED_SCOPES[1][2], "f-department"
    )
    warehouse = _scope_field(
        _l("Warehouse"), _l("Any warehouse"), NAMED_SCOPES[2][2], "f-warehouse"
    )
    manager = _scope_field(
        _l("Manager"), _l("Any manager"), _l("Unknown manager ignored."), "f-manager"
    )
    product_group = _scope_field(
        _l("Product group"), _l("Any product group"), NAMED_SCOPES[3][2], "f-product-group"
    )
    quadrant = ChoiceField(
        _l("Quadrant"),
        [(q, QUADRANT_LABELS[q]) for q in QUADRANTS],
        blank=_l("All quadrants"),
        id="f-quadrant",
        message=_l("Unknown quadrant {value} ignored."),
        cut=40,
    )
    page = PageField()
    # Set by the link that computes the results without JavaScript (no HTMX to fetch them).
    now = FlagField(active=False)

    def fill_choices(self) -> None:
        """The names in the scope selects; a scope id that names nothing is dropped, with a
        message (a hand-edited or stale link)."""
        for name, model, message in NAMED_SCOPES:
            options = list(db.session.execute(select(model.id, model.name).order_by(model.name)))
            self._check_choice(name, options, message)
        managers = [(u.id, u.display_name) for u in partner_queries.responsible_choices()]
        self._check_choice("manager", managers, _("Unknown manager ignored."))

    def _check_choice(self, name, options, message) -> None:
        self[name].options = [(i, text) for i, text in options]
        value = getattr(self, name)
        if value is not None and value not in {i for i, _text in options}:
            self.problems.append(str(message))
            setattr(self, name, None)

    def scope(self) -> dict:
        return {
            "organization_id": self.organization,
            "department_id": self.department,
            "warehouse_id": self.warehouse,
            "manager_id": self.manager,
            "product_group_id": self.product_group,
            "partners": self.partner_ids(),
        }


def point_urls(flt: BcgFilter, result):
    """`url_of(row)`: where a point of the chart leads. For a group, the matrix of its
    products; for a product, its row in the list of its quadrant, on the page that holds it.
    One address per (quadrant, page) is built and the row's anchor added: a chart of 5,000
    products would otherwise spend a second in url_for."""
    if flt.by == "groups":

        def group_url(row):
            if row.object_id == NO_GROUP:
                return url_for("analytics.bcg", **flt.params(quadrant="", page=1))
            params = flt.params(by="products", product_group=row.object_id, quadrant="", page=1)
            return url_for("analytics.bcg", **params)

        return group_url
    place = {r.object_id: i for q in QUADRANTS for i, r in enumerate(result.quadrant_rows(q))}
    lists: dict[tuple[str, int], str] = {}

    def product_url(row):
        key = (row.quadrant, place[row.object_id] // PER_PAGE + 1)
        if key not in lists:
            lists[key] = url_for("analytics.bcg", **flt.params(quadrant=key[0], page=key[1]))
        return f"{lists[key]}#bcg-row-{row.object_id}"

    return product_url


EXPORT_COLUMNS = [
    _l("Code"),
    _lp("product or group", "Name"),
    _l("Group"),
    _l("Revenue"),
    _l("Previous revenue"),
    _l("Growth (%)"),
    _l("Relative share"),
    _l("Quadrant"),
]


@bp.route("/bcg", endpoint="bcg")
@requires("analytics.reports")
def bcg_report():
    """The BCG matrix of products or product groups."""
    flt = BcgFilter(request.args, today=local_today(current_user))
    flt.fill_choices()
    computing = (
        flt.now
        or is_fragment_request()
        or request.args.get("format") in EXPORT_FORMATS
        or bool(request.args.get("chart"))
    )
    result = bcg(flt.date_from, flt.date_to, flt.by, **flt.scope()) if computing else None
    listed = []
    if result is not None:
        listed = result.quadrant_rows(flt.quadrant) if flt.quadrant else result.rows
        # A page past the end (a stale link after the filters changed) shows the last one.
        flt.page = min(flt.page, max(1, -(-len(listed) // PER_PAGE)))
    listing = Page(
        items=listed[(flt.page - 1) * PER_PAGE : flt.page * PER_PAGE],
        total=len(listed),
        page=flt.page,
        per_page=PER_PAGE,
    )

    def chart():
        return bcg_chart(result, point_urls(flt, result))

    def export():
        data = (
            [
                r.code,
                r.name,
                r.group_name,
                money_text(r.revenue),
                money_text(r.previous_revenue),
                one_place(r.growth_pct),
                share_text(r.relative_share),
                str(QUADRANT_LABELS[r.quadrant]),
            ]
            for r in listed
        )
        name = f"bcg-{flt.by}-{flt.date_from.isoformat()}-{flt.date_to.isoformat()}"
        if flt.quadrant:
            name += f"-{flt.quadrant}"
        return name, EXPORT_COLUMNS, data

    response = respond_report(
        "analytics.bcg",
        "analytics/bcg.html",
        "analytics/_bcg_results.html",
        flt,
        chart if result is not None else None,
        export,
        result=result,
        listing=listing,
        quadrants=QUADRANTS,
        quadrant_labels=QUADRANT_LABELS,
        title=_("BCG matrix"),
    )
    if request.headers.get("HX-Trigger") == "bcg-pending":
        # The results the page fetched on load: its address is already the page's own.
        response.headers.pop("HX-Push-Url", None)
    return response
