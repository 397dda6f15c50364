"""Ready-made segment templates (issue 13): the rules the team asks for most, as data the rule
builder offers ("start from a template") and a user may change before saving.

A preset is only offered when every condition type its rule uses is registered (`needs`):
the domains own their conditions, so a template of deals and stages disappears with those
domains instead of failing. Some presets leave a value for the user to give (the product group
of "frequent buyers"): `fill` names each such place by its path in the rule — the syntax of
RuleError's paths (`groups`, `all[0].groups`) — and the rule holds null there. `filled(values)`
puts the values in and refuses a place left empty, so an unfilled template is never saved as
"any group".

Not here yet: "loyalty program members" (no loyalty program exists; it arrives with the
marketing domain, which will register its own condition and can add its preset then)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.core.conditions import condition_types
from crm.segments.rules import RuleError

# "Ever" for "bought before" and "never bought": the longest window a rule takes (a century).
EVER = 36_600


@dataclass(frozen=True)
class SegmentPreset:
    key: str
    title: Any  # lazy gettext
    description: Any  # lazy gettext
    rule: dict  # a rule as JSON (crm.segments.rules), null where `fill` asks for a value
    needs: tuple[str, ...]  # the condition types the rule uses
    fill: tuple[str, ...] = ()  # paths of the values the user must give
    order: int = 100

    def filled(self, values: dict[str, Any] | None = None) -> dict:
        """A copy of the rule with `values` ({path: value}) at the `fill` places; RuleError
        at the first place left empty (the values themselves are checked when the rule is
        compiled)."""
        values = values or {}
        unknown = sorted(set(values) - set(self.fill))
        if unknown:
            raise RuleError(unknown[0], _("This template has no such value to fill."))
        rule = copy.deepcopy(self.rule)
        for path in self.fill:
            if values.get(path) in (None, "", []):
                raise RuleError(path, _("This parameter is required."))
            *parents, last = _steps(path)
            node = rule
            for step in parents:
                node = node[step]
            node[last] = copy.deepcopy(values[path])
        return rule


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    """`all[0].groups` → ["all", 0, "groups"]."""
    return [int(i) if i else name for name, i in _STEP.findall(path)]


PRESETS = (
    SegmentPreset(
        "overdue",
        _l("Clients with overdue debt"),
        _l("Overdue debt above zero on the rule's date."),
        {"type": "sales.overdue", "above": 0},
        ("sales.overdue",),
        order=10,
    ),
    SegmentPreset(
        "bought_last_month",
        _l("Bought in the last month"),
        _l("At least one purchase in the last 30 days."),
        {"type": "sales.bought", "days": 30},
        ("sales.bought",),
        order=20,
    ),
    SegmentPreset(
        "lost",
        _l("Refused or lost"),
        _l("Lost a deal in the last 365 days, or at the customer stage “lost”."),
        {
            "any": [
                {"type": "deals.lost", "days": 365},
                {"type": "analytics.stage", "stages": ["lost"]},
            ]
        },
        ("deals.lost", "analytics.stage"),
        order=30,
    ),
    SegmentPreset(
        "active",
        _l("Active clients"),
        _l("Bought in the last 90 days."),
        {"type": "sales.bought", "days": 90},
        ("sales.bought",),
        order=40,
    ),
    SegmentPreset(
        "inactive",
        _l("Inactive clients"),
        _l("Bought before, but not in the last 180 days."),
        {
            "all": [
                {"type": "sales.bought", "days": EVER},
                {"not": {"type": "sales.bought", "days": 180}},
            ]
        },
        ("sales.bought",),
        order=50,
    ),
    SegmentPreset(
        "potential",
        _l("Potential clients"),
        _l("Clients who have never bought anything."),
        {
            "all": [
                {"type": "partner.role", "roles": ["client"]},
                {"not": {"type": "sales.bought", "days": EVER}},
            ]
        },
        ("partner.role", "sales.bought"),
        order=60,
    ),
    SegmentPreset(
        "frequent_group",
        _l("Frequent buyers of a product group"),
        _l("At least 3 sales of the chosen product group in the last 365 days."),
        {"type": "sales.bought", "days": 365, "groups": None, "times": 3},
        ("sales.bought",),
        fill=("groups",),
        order=70,
    ),
)


def available_presets(app=None) -> list[SegmentPreset]:
    """The presets whose condition types are all registered (on `app`, the current app by
    default), in order."""
    types = condition_types(app)
    found = [p for p in PRESETS if all(key in types for key in p.needs)]
    return sorted(found, key=lambda p: p.order)


def get_preset(key: str, app=None) -> SegmentPreset | None:
    """The available preset of `key`, or None."""
    return next((p for p in available_presets(app) if p.key == key), None)
