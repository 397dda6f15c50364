"""The partner list as a selection (crm.core.selections): the partners its filters give the
user (every page, not only the one shown), named after the filters, and — when each filter in
force is a condition of a segment rule — those conditions (so the list can be saved as a
dynamic segment that stays what the filters say)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from crm.core.selections import SelectionSource
from crm.extensions import db
from crm.partners import listing, queries
from crm.partners.filters import PartnerFilter
from crm.partners.models import Partner, Tag

KEY = "partners"


def _filter(args, named: bool = False) -> PartnerFilter:
    flt = PartnerFilter.from_args(args)
    if named:  # the selects' options, to name their values
        flt["manager"].options, flt["tag"].options = listing.filter_options()
    return flt


def partner_ids(args, user):
    flt = _filter(args)
    return queries.partner_list_stmt(user, flt).with_only_columns(Partner.id).order_by(None)


def name(args) -> str:
    parts = _filter(args, named=True).summary(skip=("sort", "page"))
    if not parts:
        return _("All partners")
    return _("Partners: %(filters)s", filters="; ".join(parts))


def rule(args) -> dict | None:
    """The list's filters as a segment rule (crm.segments' JSON); None when a filter in force
    is none (the search words) or nothing narrows the list."""
    flt = _filter(args)
    if flt.q:
        return None
    parts: list[dict] = []
    if flt.role:
        parts.append({"type": "partner.role", "roles": [flt.role]})
    if flt.manager == "none":
        parts.append({"type": "partner.no_manager"})
    elif flt.manager:
        parts.append({"type": "partner.manager", "managers": [int(flt.manager)]})
    if flt.tag:
        tag = db.session.execute(select(Tag.name).where(Tag.id == flt.tag)).scalar()
        if tag is None:
            return None
        parts.append({"type": "partner.tags", "tags": [tag]})
    if flt.city:
        parts.append({"type": "partner.city", "cities": [flt.city]})
    extra = flt.extra_rules()
    if extra is None:
        return None
    parts.extend(extra)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"all": parts}


SOURCE = SelectionSource(KEY, partner_ids, name, rule)
