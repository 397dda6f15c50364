"""What the consent, group and suppression pages call their codes (translated when shown)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp

GROUP_KIND_TITLES = {"advertising": _l("Advertising"), "service": _l("Service notices")}
GROUP_KIND_HINTS = {
    "advertising": _l(
        "Promotions, offers, news: sent only to addresses that gave their prior consent "
        "(Russian law on advertising, 38-FZ, article 18)."
    ),
    "service": _l(
        "Order statuses, reminders, notices about an existing relationship: no prior consent "
        "is needed, but opt-outs and the suppression list still hold."
    ),
}
SUPPRESSION_REASON_TITLES = {
    "bounced": _l("Bounced"),
    "unsubscribed": _l("Unsubscribed"),
    "stop": _l("SMS STOP"),
    "complaint": _l("Spam complaint"),
    "manual": _l("Added by hand"),
}
NOTIFICATION_TITLES = {
    "order_status": _l("Order status changed"),
    "overdue_debt": _l("Overdue debt"),
    "deal_won": _l("Deal won"),
    "interaction_reminder": _l("Interaction reminder"),
}
MESSAGE_STATE_TITLES = {
    "queued": _l("Queued"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "delivered": _l("Delivered"),
    "failed": _lp("message state", "Failed"),
    "bounced": _l("Bounced"),
    "cancelled": _l("Cancelled"),
}
# Sources recorded by the app itself (stored in English, shown in the reader's language);
# a source someone typed ("signed paper") is shown as typed.
SYSTEM_SOURCES = {
    "unsubscribe link": _l("the unsubscribe link in a message"),
    "one-click unsubscribe": _l("one-click unsubscribe from the mail program"),
    "SMS STOP": _l("a STOP reply to an SMS"),
}


def source_title(source: str) -> str:
    found = SYSTEM_SOURCES.get(source)
    return str(found) if found is not None else source


def notification_title(kind: str) -> str:
    found = NOTIFICATION_TITLES.get(kind)
    return str(found) if found is not None else kind
