"""The query strings of the messaging lists (crm.core.filters): the mailings, a mailing's
messages, the templates and the suppression list. Three of them filter by channel, with the
one field `_channel()` makes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.core.filters import MAX_QUERY, ChoiceField, ListFilter, PageField, SearchField
from crm.messaging.consent_labels import SUPPRESSION_REASON_TITLES
from crm.messaging.labels import CHANNEL_TITLES
from crm.messaging.mailing_labels import MAILING_STATE_TITLES, MESSAGE_STATE_TITLES


def _channel() -> ChoiceField:
    """A list's channel filter: e-mail, SMS or either."""
    return ChoiceField(
        _l("Channel"),
        list(CHANNEL_TITLES.items()),
        id="f-channel",
        blank=_l("Any channel"),
        message=_l("Unknown channel {value} ignored."),
        cut=20,
    )


class MailingFilter(ListFilter):
    q = SearchField(_l("Search"), max_length=MAX_QUERY, id="q")
    state = ChoiceField(
        _l("State"),
        list(MAILING_STATE_TITLES.items()),
        id="f-state",
        blank=_l("Any state"),
        message=_l("Unknown mailing state {value} ignored."),
        cut=20,
    )
    channel = _channel()
    page = PageField(_l("Page"))


class MessageFilter(ListFilter):
    state = ChoiceField(
        _l("State"),
        list(MESSAGE_STATE_TITLES.items()),
        id="f-message-state",
        blank=_l("Any state"),
        message=_l("Unknown message state {value} ignored."),
        cut=20,
    )
    page = PageField(_l("Page"))


class TemplateFilter(ListFilter):
    q = SearchField(_l("Search"), max_length=MAX_QUERY, id="q")
    channel = _channel()
    page = PageField(_l("Page"))


class SuppressionFilter(ListFilter):
    q = SearchField(_l("Search"), max_length=MAX_QUERY, id="q")
    channel = _channel()
    reason = ChoiceField(
        _l("Reason"),
        list(SUPPRESSION_REASON_TITLES.items()),
        id="f-reason",
        blank=_l("Any reason"),
        message=_l("Unknown reason {value} ignored."),
        cut=20,
    )
    page = PageField(_l("Page"))
