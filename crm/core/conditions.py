"""Condition types of segment rules (issue 13): each domain registers the conditions over the
data it owns — partner fields, purchases, receivables, deals, classes — and the segments
domain combines them into rules without importing any of those domains.

A condition type names its parameters and how each is read (`Param.kind`); `build(values)`
gets the values already checked and returns an SQL condition on the rule's object table
(`partner.id` for partners), built with bound parameters only. Rules are data (a JSON tree):
the compiler in crm.segments.rules validates every type, parameter and value before anything
reaches SQL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.core.registry import RegistryKey

# How a parameter's JSON value is read (crm.segments.rules checks it):
#   text    a non-empty string (trimmed, at most 200 characters)
#   texts   a non-empty list of such strings
#   int     a whole number within `minimum`..`maximum`
#   money   a number with at most 2 decimals
#   date    an ISO date "YYYY-MM-DD"
#   choice  one of `choices`
#   choices a non-empty list of `choices`
#   ids     a non-empty list of whole numbers (record ids)
PARAM_KINDS = ("text", "texts", "int", "money", "date", "choice", "choices", "ids")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    required: bool = True
    choices: tuple[str, ...] = ()
    minimum: int = 0
    maximum: int = 100_000
    # For the rule builder's form (crm/segments/builder.py): the parameter's label, the titles
    # of its choices (choice → lazy text), and for `ids` the values one picks from
    # (a function giving [(id, label)], read when the form is drawn; None: typed in).
    title: Any = None
    labels: Mapping[str, Any] | None = None
    options: Callable[[], list[tuple[int, str]]] | None = None


@dataclass(frozen=True)
class ConditionType:
    key: str  # "partner.city", "sales.bought_group"…: the rule's `type`
    title: Any  # lazy gettext
    params: tuple[Param, ...]
    # checked values (plus "as_of": the rule's date) → SQL condition on the object's table
    build: Callable[[dict], Any]
    of: str = "partners"
    order: int = 100
    extra: dict = field(default_factory=dict)  # hints for the builder's form
    # True: `build` also gets values["within"]: a SELECT of the object ids outside of which the
    # condition's answer does not matter (what the other parts of an AND around it allow), or
    # None. A condition that computes a figure for every object from big tables (overdue debt
    # from every document and payment) computes it for those only; it must answer the same for
    # every id in `within` (crm.segments.rules.narrowed_parts).
    within: bool = False


class ConditionError(ValueError):
    """Raised by a condition's `build` for values that do not hold together (a period that
    starts after it ends) or name nothing (an unknown id); the rule compiler reports it at the
    condition's place, at its parameter `param` when one is named."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


# A window of days shared by the conditions of several domains (sales: bought in the last 90
# days; deals: lost a deal in a period): the last `days` days up to the rule's date, or the
# period `from`…`to` (either end may be left out). 36,600 days (a century) is "ever".
WINDOW = (
    Param("days", "int", required=False, minimum=1, maximum=36_600, title=_l("In the last N days")),
    Param("from", "date", required=False, title=_l("Or from")),
    Param("to", "date", required=False, title=_l("To")),
)


def window(values: dict) -> tuple[date, date]:
    """(first day, last day) of a WINDOW condition's window; ConditionError when the values
    do not make one. A number of days ends on the rule's date (`values["as_of"]`); a period
    without an end ends on it too, one without a start reaches back a century."""
    if values["days"] is not None:
        if values["from"] is not None or values["to"] is not None:
            raise ConditionError(_("Give either a number of days or a period, not both."), "days")
        end = values["as_of"]
        return end - timedelta(days=values["days"] - 1), end
    if values["from"] is None and values["to"] is None:
        raise ConditionError(_("Give a number of days or a period."), "days")
    start = values["from"] or values["to"] - timedelta(days=36600)
    end = values["to"] or values["as_of"]
    if start > end:
        raise ConditionError(_("The period starts after it ends."), "from")
    return start, end


CONDITIONS: RegistryKey[ConditionType] = RegistryKey("crm.segment_conditions")


def register_condition(state_or_app, condition: ConditionType) -> None:
    """Called from a domain's blueprint setup; a second type of one key replaces the first
    (setting a blueprint up twice on one app adds nothing)."""
    CONDITIONS.register(state_or_app, condition)


def condition_types(app=None) -> dict[str, ConditionType]:
    return {c.key: c for c in CONDITIONS.of(app)}
