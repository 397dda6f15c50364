"""The deal list as a selection of partners (crm.core.selections): the partners of the deals
its filters give the user — so a funnel stage's drill-down (the list of the deals that reached
the stage) can be saved as a segment or turned into calls. The list's filters (dates, reached
stage, staleness) are no segment rule: a saved list is a manual segment."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from crm.core.policy import visible
from crm.core.selections import SelectionSource
from crm.deals import queries
from crm.deals.filters import DealFilter
from crm.deals.models import Deal, DealStage
from crm.extensions import db
from crm.partners.models import Partner

KEY = "deals"


def partner_ids(args, user):
    deals = queries.list_stmt(user, DealFilter.from_args(args)).subquery()
    of_deals = select(Deal.partner_id).where(Deal.id.in_(select(deals.c.id)))
    stmt = select(Partner.id).where(Partner.id.in_(of_deals), Partner.merged_into_id.is_(None))
    return visible(user, Partner, stmt)


def name(args) -> str:
    flt = DealFilter.from_args(args)
    flt["kind"].options = [(k.id, k.name) for k in queries.kinds()]
    flt["stage"].options = queries.stage_options(flt.kind)
    flt["manager"].options = [(u.id, u.display_name) for u in queries.assignable_users()]
    flt["reason"].options = queries.all_loss_reasons()
    parts = flt.summary(skip=("sort", "page", "reached", "partner"))
    if flt.reached:
        # The funnel's drill-down: "reached stage 3" says more by the stage's name.
        stage = None
        if flt.kind:
            stage = db.session.execute(
                select(DealStage.name).where(
                    DealStage.kind_id == flt.kind, DealStage.position == flt.reached
                )
            ).scalar()
        named = "«" + stage + "»" if stage else str(flt.reached)
        parts.append(_("reached %(stage)s", stage=named))
    if flt.partner:
        parts.append(_("one partner"))
    return _("Partners of deals: %(filters)s", filters="; ".join(parts) or _("all"))


SOURCE = SelectionSource(KEY, partner_ids, name)
