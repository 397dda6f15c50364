"""Who may see, create, change and delete partners, and which partners a user's lists show.

Managers see and change the partners they are responsible for (all of them with the setting
MANAGERS_SEE_ALL_PARTNERS); admins change every partner; marketers and viewers read them all."""

from __future__ import annotations

from flask import current_app

from crm.core.policy import register_rows, register_rules
from crm.extensions import db
from crm.partners.models import Partner


def managers_see_all() -> bool:
    return bool(current_app.config.get("MANAGERS_SEE_ALL_PARTNERS"))


def visible_rows(user):
    """SQL condition for the partners `user` may see (None: all of them)."""
    if user.role == "manager" and not managers_see_all():
        return Partner.responsible_id == user.id
    return None


def may_view(user, partner: Partner) -> bool:
    # A merged partner is only a pointer: whoever may see the partner it went into may follow
    # it (a manager's old link to a duplicate he merged leads to the survivor, not to a 403).
    seen = set()
    while partner.merged_into_id is not None and partner.id not in seen:
        seen.add(partner.id)
        partner = db.session.get(Partner, partner.merged_into_id)
        if partner is None:
            return False
    return user.role != "manager" or managers_see_all() or partner.responsible_id == user.id


def may_edit(user, partner: Partner) -> bool:
    if user.role == "admin":
        return True
    return user.role == "manager" and (partner.responsible_id == user.id or managers_see_all())


RULES = {
    "partner.view": may_view,
    "partner.edit": may_edit,
    "partner.create": lambda user, obj=None: user.role in ("admin", "manager"),
    # A merged partner is never deleted (services say why); that is a rule of the data.
    "partner.delete": lambda user, obj=None: user.role == "admin",
}


def register(state) -> None:
    register_rules(state, RULES)
    register_rows(state, {Partner: visible_rows})
