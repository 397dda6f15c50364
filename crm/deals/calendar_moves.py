"""Moving a deal's expected close date in the event calendar: a drop on another day, or the
item's move buttons, post here as the calendar's own items do (crm/interactions/
calendar_views.py); the answer is the calendar body again, with what happened."""

from __future__ import annotations

from datetime import date

from flask import Response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.errors import DomainError
from crm.core.formats import fmt_date
from crm.core.policy import load_or_403
from crm.core.timeutil import to_zone, utcnow
from crm.deals import bp
from crm.deals.models import Deal
from crm.deals.services import update_deal
from crm.extensions import db
from crm.forms import submitted_version
from crm.interactions.calendar_views import (
    ask_past_move,
    move_and_answer,
    parse_new_start,
    zone,
)
from crm.interactions.forms import MoveForm


def new_close_date(raw: str) -> date:
    """The local day of the calendar's "YYYY-MM-DDTHH:MM" value (checked as the calendar
    checks its moves); the time of day means nothing for an all-day item."""
    parse_new_start(raw)
    return date.fromisoformat(raw[:10])


@bp.route("/<int:deal_id>/expected-close", methods=["POST"])
def move_close(deal_id: int):
    """Move an open deal's expected close date to the day it was dropped on."""
    deal = load_or_403(Deal, deal_id, "deal.view")
    raw = (request.form.get("starts_at") or request.form.get("move_to") or "").strip()
    form = MoveForm()

    def move() -> str | Response:
        if not form.validate():
            raise DomainError(" ".join(form.version.errors))
        if not deal.is_open:
            raise DomainError(_("Only an open deal's expected close date moves."))
        new_close = new_close_date(raw)
        today = to_zone(utcnow(), zone()).date()
        if new_close < today and request.form.get("confirm") != "1":
            db.session.rollback()
            return _ask_past_move(deal, new_close)
        update_deal(
            current_user, deal, {"expected_close": new_close}, version=submitted_version(form)
        )
        return _(
            "“%(title)s” is now expected to close on %(date)s.",
            title=deal.label,
            date=fmt_date(new_close),
        )

    return move_and_answer(move)


def _ask_past_move(deal: Deal, new_close: date):
    """A date in the past makes the deal overdue: asked first, as the calendar asks before
    moving an interaction into the past (the same move again, confirmed)."""
    return ask_past_move(
        url_for("deals.move_close", deal_id=deal.id),
        _(
            "“%(title)s” would be expected to close on %(date)s, which has passed. Move it?",
            title=deal.label,
            date=fmt_date(new_close),
        ),
        f"{new_close.isoformat()}T00:00",
    )
