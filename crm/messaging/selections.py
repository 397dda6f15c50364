"""«Начать рассылку» on a selection of partners (crm.core.selections): on a segment's page a
draft mailing to the segment (its partner scope, resolved when the mailing is sent), on any
other list or drill-down a draft to the partners the page shows the user, added by hand
(evaluated again here, never taken from the form); the draft's form opens next.

Also the part's setup: the action, the partner-merge hook of the partners added by hand, and
the demo step (crm/messaging/demo_mailings.py)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.core import selections
from crm.core.errors import DomainError
from crm.core.partner_scope import PARTNER_SCOPES
from crm.core.policy import may, requires
from crm.extensions import db
from crm.messaging import bp, services

# The segment page's selection (source "segment", args `id`) names the same segment id that
# the partner scope "segment" takes: such a mailing keeps the segment, not today's members.
SEGMENT = "segment"


def _may_start(user) -> bool:
    return may(user, "messaging.edit")


ACTION = selections.SelectionAction(
    "messaging.mailing", _l("Start a mailing"), "messaging.mailing_from_selection", _may_start, 30
)


def _segment_id(chosen: selections.Selection) -> str | None:
    """The segment a segment page's selection names, when its scope is registered."""
    if chosen.source.key != SEGMENT or PARTNER_SCOPES.of().get(SEGMENT) is None:
        return None
    return chosen.args.get("id", "")


@bp.route("/mailings/from-selection", methods=["POST"])
@requires("messaging.edit")
def mailing_from_selection():
    """A draft mailing to a selection (a segment, or the partners a list shows the user)."""
    back = selections.back(request.form, url_for("messaging.index"))
    try:
        chosen = selections.posted(request.form, current_user)
        name = _("Mailing: %(list)s", list=chosen.name())
        segment_id = _segment_id(chosen)
        if segment_id is not None:
            chosen.ids(current_user)  # an unknown or broken segment is refused here
            mailing = services.create_for_scope(current_user, name, SEGMENT, segment_id)
        else:
            ids = chosen.ids(current_user)
            if not ids:
                raise selections.SelectionError(_("Nobody is in this list: no mailing was made."))
            mailing = services.create_for_partners(current_user, name, ids)
    except DomainError as exc:
        db.session.rollback()
        # A field's own message says more than "correct the marked fields".
        flash(next((m for ms in exc.field_errors.values() for m in ms), exc.message), "danger")
        return redirect(back, code=303)
    db.session.commit()
    flash(
        _("Draft mailing %(name)s is made: choose its template and group.", name=mailing.name),
        "success",
    )
    return redirect(url_for("messaging.mailing_update", mailing_id=mailing.id), code=303)


def _setup_mailings(state) -> None:
    from crm.demo import register_demo_step
    from crm.messaging.demo_mailings import make_mailings_demo
    from crm.partners.services import register_merge_hook

    selections.register_action(state, ACTION)
    register_merge_hook(state, services.merge_mailing_partners)
    # After the messaging templates' demo step (70): the mailings use its templates.
    register_demo_step(state, 75, make_mailings_demo)


bp.record_once(_setup_mailings)
