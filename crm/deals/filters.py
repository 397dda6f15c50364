"""The deal list's filters (the contract's query parameters: reports drill down with them),
declared as a list filter (crm.core.filters).

Bad values never raise: they are dropped and reported, so a hand-edited URL shows a message
instead of a 500.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp

from crm.core.filters import (
    ChoiceField,
    DateField,
    FlagField,
    IdField,
    ListFilter,
    PageField,
    SearchField,
    WholeNumberField,
)
from crm.deals.models import Deal

STATUS_CHOICES = {
    "open": _lp("deal status", "Open"),
    "won": _lp("deal status", "Won"),
    "lost": _lp("deal status", "Lost"),
    "all": _l("Any status"),
}
SORTS = {
    "-created": _l("Newest first"),
    "created": _l("Oldest first"),
    "expected": _l("Expected close, soonest first"),
    "-amount": _l("Amount, largest first"),
    "no": _l("Deal number"),
}


def _date(name: str, label, what):
    return DateField(
        label,
        name=name,
        id=f"f-{name.replace('_', '-')}",
        what=what,
    )


class DealFilter(ListFilter):
    partner_column = Deal.partner_id

    q = SearchField(_l("Search"), id="q")
    kind = IdField(
        _l("Kind of deal"),
        id="f-kind",
        message=_l("Unknown kind of deal ignored."),
        fixed=[("", _l("Any kind"))],
    )
    stage = IdField(
        _l("Stage"),
        id="f-stage",
        message=_l("Unknown stage ignored."),
        fixed=[("", _l("Any stage"))],
    )
    status = ChoiceField(
        _l("Status"),
        STATUS_CHOICES,
        default="open",
        cut=30,
        id="f-status",
        message=_l("Unknown status {value} ignored."),
    )
    manager = IdField(
        _l("Responsible"),
        id="f-manager",
        message=_l("Unknown responsible manager ignored."),
        fixed=[("", _l("Any responsible"))],
    )
    partner = IdField(_l("Partner"), id="f-partner", message=_l("Unknown partner ignored."))
    # Deals that got at least as far as the stage at this position (the funnel's drill-down).
    reached = WholeNumberField(
        _l("Reached stage"),
        minimum=1,
        maximum=10_000,
        id="f-reached",
        message=lambda raw: _(
            "The reached stage %(value)s is not a stage position; ignored.", value=repr(raw[:20])
        ),
    )
    created_from = _date("created_from", _l("Created from"), _l("The creation start date"))
    created_to = _date("created_to", _l("Created to"), _l("The creation end date"))
    closed_from = _date("closed_from", _l("Closed from"), _l("The closing start date"))
    closed_to = _date("closed_to", _l("Closed to"), _l("The closing end date"))
    expected_from = _date(
        "expected_from", _l("Expected close from"), _l("The expected close start date")
    )
    expected_to = _date("expected_to", _l("Expected close to"), _l("The expected close end date"))
    reason = IdField(
        _l("Loss reason"),
        id="f-reason",
        message=_l("Unknown loss reason ignored."),
        fixed=[("", _l("Any reason"))],
    )
    stale = FlagField(_l("Stale only"), id="f-stale")
    sort = ChoiceField(
        _l("Sort"),
        SORTS,
        default="-created",
        active=False,
        id="f-sort",
        message=_l("Unknown sort order {value} ignored."),
    )
    page = PageField(_l("Page"))

    def check(self) -> None:
        for start, end in (
            ("created_from", "created_to"),
            ("closed_from", "closed_to"),
            ("expected_from", "expected_to"),
        ):
            a, b = getattr(self, start), getattr(self, end)
            if a and b and a > b:
                self.problems.append(_("A period ends before it starts; its dates were swapped."))
                setattr(self, start, b)
                setattr(self, end, a)
        if self.stale and self.status not in ("open", "all"):
            self.problems.append(_("Only open deals can be stale: the status filter is open."))
            self.status = "open"
