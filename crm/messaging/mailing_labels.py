"""How the mailing pages name states and skip reasons, in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext, pgettext

from crm.messaging.labels import CHANNEL_TITLES

MAILING_STATE_TITLES = {
    "draft": lazy_pgettext("mailing state", "Draft"),
    "scheduled": lazy_pgettext("mailing state", "Scheduled"),
    "sending": lazy_pgettext("mailing state", "Sending"),
    "done": lazy_pgettext("mailing state", "Done"),
    "cancelled": lazy_pgettext("mailing state", "Cancelled"),
}
# Bootstrap badge colours of the states.
MAILING_STATE_BADGES = {
    "draft": "text-bg-secondary",
    "scheduled": "text-bg-info",
    "sending": "text-bg-primary",
    "done": "text-bg-success",
    "cancelled": "text-bg-dark",
}

MESSAGE_STATE_TITLES = {
    "queued": lazy_pgettext("message state", "Queued"),
    "sending": lazy_pgettext("message state", "Being sent"),
    "sent": lazy_pgettext("message state", "Sent"),
    "delivered": lazy_pgettext("message state", "Delivered"),
    "failed": lazy_pgettext("message state", "Failed"),
    "bounced": lazy_pgettext("message state", "Bounced"),
    "cancelled": lazy_pgettext("message state", "Cancelled"),
}

SKIP_TITLES = {
    "no_address": _l("No address"),
    "do_not_contact": _l("Do not contact"),
    "duplicate": _l("Duplicate address"),
    "suppressed": _l("On the suppression list"),
    "opted_out": _l("Opted out of the group"),
    "no_consent": _l("No consent to advertising"),
}


def mailing_state_title(state: str) -> str:
    """A mailing state's title as text; a state it does not know, as it is."""
    return str(MAILING_STATE_TITLES.get(state, state))


def group_kind_title(kind: str) -> str:
    if kind == "service":
        return pgettext("mailing group", "service")
    return pgettext("mailing group", "advertising")


# What every mailing page's template reads to name things.
PAGE_LABELS = {
    "channels": CHANNEL_TITLES,
    "states": MAILING_STATE_TITLES,
    "badges": MAILING_STATE_BADGES,
    "message_states": MESSAGE_STATE_TITLES,
    "skip_titles": SKIP_TITLES,
    "group_kind": group_kind_title,
}
