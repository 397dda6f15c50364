"""The customer stages' names in the reader's language (crm.analytics.stages keeps the codes:
`regular-x`, `lost`… are what the CLI, downloads and snapshots store)."""

from __future__ import annotations

from flask_babel import lazy_pgettext as _lp

from crm.analytics.stages import LOST, NEW, ONE_TIME, POTENTIAL, REGULAR_X, REGULAR_Y, REGULAR_Z

# A context: "New", "Lost"… name other things elsewhere (a new deal, a lost deal).
STAGE_TITLES = {
    NEW: _lp("customer stage", "New"),
    POTENTIAL: _lp("customer stage", "Potential"),
    ONE_TIME: _lp("customer stage", "One-time"),
    REGULAR_X: _lp("customer stage", "Regular X"),
    REGULAR_Y: _lp("customer stage", "Regular Y"),
    REGULAR_Z: _lp("customer stage", "Regular Z"),
    LOST: _lp("customer stage", "Lost"),
}


def stage_title(code: str) -> str:
    """The stage's name; an unknown code as it is."""
    return str(STAGE_TITLES.get(code, code))
