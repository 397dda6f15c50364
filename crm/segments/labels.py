"""The words of segments shown to users."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp

KIND_TITLES = {
    "dynamic": _lp("segment kind", "Dynamic"),
    "periodic": _lp("segment kind", "Periodic"),
    "manual": _lp("segment kind", "Manual"),
}
KIND_HINTS = {
    "dynamic": _l("Only the rule is stored: members are computed whenever the segment is used."),
    "periodic": _l(
        "Members are stored and recomputed on a schedule; each refresh records who entered and left."
    ),
    "manual": _l("Members are added and removed by hand (a rule can fill it once)."),
}
SCHEDULE_TITLES = {
    "hourly": _l("Hourly"),
    "daily": _l("Daily"),
    "weekly": _l("Weekly"),
    "monthly": _l("Monthly"),
}
