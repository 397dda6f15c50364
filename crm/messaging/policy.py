"""Who works with mailings and notifications.

Admins and marketers write templates and groups, make, schedule and cancel mailings and set up
the event notifications. Managers read them (templates, a mailing's figures and its messages to
the partners they may see) and record a contact's consent, language and opt-outs on their
partners' cards; a viewer reads. The public pages (unsubscribe, the open pixel, tracked links,
the SMS gateway's hooks) need no account: a signed token or the gateway's secret is the proof."""

from __future__ import annotations

from crm.core.policy import register_rules

EDITORS = ("admin", "marketer")
CONSENT_EDITORS = ("admin", "marketer", "manager")

RULES = {
    "messaging.view": lambda user, obj=None: True,
    "messaging.edit": lambda user, obj=None: user.role in EDITORS,
    "messaging.send": lambda user, obj=None: user.role in EDITORS,
    "messaging.settings": lambda user, obj=None: user.role in EDITORS,
    # obj: the partner whose addresses are concerned (the caller checks he may see it).
    "messaging.consent": lambda user, obj=None: user.role in CONSENT_EDITORS,
}


def register(state) -> None:
    register_rules(state, RULES)
