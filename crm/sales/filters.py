"""The filters of the receivables report (as-of date, manager, sort, page) and of the product
list (search, group, sort, page, and what higher domains add), declared as list filters
(crm.core.filters).

Bad values never raise: they are replaced by the default and reported, so a hand-edited URL
shows a message instead of a 500.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp

from crm.core.filters import (
    MAX_QUERY,
    ChoiceField,
    DateField,
    IdField,
    ListFilter,
    PageField,
    SearchField,
)
from crm.partners.models import Partner
from crm.sales.product_card import LIST_FILTERS as PRODUCT_LIST_FILTERS

SORTS = {
    "-debt": _l("Debt, largest first"),
    "debt": _l("Debt, smallest first"),
    "-overdue": _l("Overdue, largest first"),
    "overdue": _l("Overdue, smallest first"),
    "oldest": _l("Oldest overdue first"),
    "code": _l("Code"),
    "name": _lp("partner field", "Name"),
}
DEFAULT_SORT = "-debt"


def _not_a_date(raw: str) -> str:
    if raw.isprintable():
        return _("“%(value)s” is not a date (use YYYY-MM-DD): showing today.", value=raw[:40])
    return _("The as-of date is not a date (use YYYY-MM-DD): showing today.")


class ReceivablesFilter(ListFilter):
    partner_column = Partner.id  # the partner scopes ("segment") narrow the debtors

    # None: today (then left out of links); a date from the URL is kept in them
    as_of_date = DateField(
        _l("As of"),
        name="as_of",
        what=_l("The as-of date"),
        id="f-as-of",
        bad=_not_a_date,
        out_of_range=lambda raw, error: _("%(error)s: showing today.", error=error),
    )
    # a user id, "none" for partners without one, "" for any
    manager = IdField(
        _l("Manager"),
        keywords=("none",),
        as_text=True,
        id="f-manager",
        message=_l("Unknown manager ignored."),
        fixed=[("", _l("Any manager")), ("none", _l("Nobody"))],
    )
    sort = ChoiceField(
        _l("Sort"),
        SORTS,
        default=DEFAULT_SORT,
        id="f-sort",
        active=False,
        message=_l("Unknown sort order ignored."),
    )
    page = PageField(_l("Page"), quiet=True)  # the CSV ignores it: no message to refuse it

    def __init__(self, args=None, today: date | None = None, **kwargs):
        super().__init__(args, **kwargs)
        self.today = today or date.today()

    @property
    def active_count(self) -> int:
        # Today's date sent by the form is no filter: it is what the report shows by default.
        return super().active_count - (self.as_of_date == self.today)

    @property
    def as_of(self) -> date:
        return self.as_of_date or self.today

    def sorted_by(self, field_name: str) -> str:
        """The sort a column header links to: largest first, or the reverse when it is on."""
        return field_name if self.sort == f"-{field_name}" else f"-{field_name}"


PRODUCT_SORTS = {
    "name": _lp("product field", "Name"),
    "-name": _l("Name (Z–A)"),
    "sku": _l("SKU"),
}


class ProductFilter(ListFilter):
    """The product list: search in SKU and name, product group, extra filters, sort, page."""

    extra_filters = PRODUCT_LIST_FILTERS

    q = SearchField(_l("Search"), max_length=MAX_QUERY, id="q")
    group = IdField(
        _l("Product group"),
        keywords=("none",),
        as_text=True,
        id="f-group",
        message=_l("Unknown product group ignored."),
        fixed=[("", _l("Any group")), ("none", _l("No group"))],
    )
    sort = ChoiceField(
        _l("Sort"),
        PRODUCT_SORTS,
        default="name",
        active=False,
        id="f-sort",
        message=_l("Unknown sort order {value} ignored."),
    )
    page = PageField(_l("Page"))
