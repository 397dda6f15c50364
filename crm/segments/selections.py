"""Segments and the selections of other pages (crm.core.selections): the "segment" source (a
segment's members, on its page) and the action «Сохранить как сегмент» on any selection — a
manual segment of the partners the page shows the user (evaluated again here, never taken from
the form), or, when the page's filters are a rule and he asks for a dynamic one, the segment
form filled with that rule."""

from __future__ import annotations

import json

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from crm.core import selections
from crm.core.errors import DomainError
from crm.core.formats import fmt_date
from crm.core.i18n import ngettext
from crm.core.policy import may, requires
from crm.core.timeutil import site_today
from crm.extensions import db
from crm.segments import bp, services
from crm.segments.models import Segment
from crm.segments.queries import members_select
from crm.segments.rules import RuleError, compile_rule

SOURCE_KEY = "segment"
MAX_RULE_TEXT = 20_000  # the segment form reads a rule of at most this many characters


def _segment_of(args) -> Segment:
    raw = args.get("id", "")
    segment = db.session.get(Segment, int(raw)) if raw.isdigit() and len(raw) <= 9 else None
    if segment is None or segment.of != "partners":
        raise selections.SelectionError(_("Unknown segment: nothing was done."))
    return segment


def _members(args, user):
    segment = _segment_of(args)
    try:
        return members_select(segment, user=user)
    except RuleError as exc:
        raise selections.SelectionError(exc.message) from None


def _name(args) -> str:
    # A copy of the members as they are today: a dynamic segment's change tomorrow.
    return _("%(name)s on %(date)s", name=_segment_of(args).name, date=fmt_date(site_today()))


SOURCE = selections.SelectionSource(SOURCE_KEY, _members, _name)


def _may_save(user) -> bool:
    return may(user, "segments.create")


ACTION = selections.SelectionAction(
    "segments.save",
    _l("Save as segment"),
    "segments.save_selection",
    _may_save,
    10,
    template="segments/_save_selection.html",
)


def _taken(names) -> set[str]:
    names = list(names)
    return set(db.session.execute(select(Segment.name).where(Segment.name.in_(names))).scalars())


def _dynamic(chosen: selections.Selection, name: str):
    """The segment form with the page's rule, to check and save as a dynamic segment."""
    rule = chosen.rule()
    if rule is None:
        raise selections.SelectionError(
            _("This list cannot be written as a rule: save it as a manual segment.")
        )
    try:
        compile_rule(rule)
    except RuleError as exc:
        raise selections.SelectionError(
            _("This list cannot be a dynamic segment: %(error)s", error=exc.message)
        ) from None
    text = json.dumps(rule, ensure_ascii=False, separators=(",", ":"))
    if len(text) > MAX_RULE_TEXT:
        raise selections.SelectionError(_("This list's rule is too long for a segment."))
    return redirect(url_for("segments.create", kind="dynamic", rule=text, name=name), code=303)


@bp.route("/from-selection", methods=["POST"])
@requires("segments.create")
def save_selection():
    """A list or a report's drill-down saved as a manual segment of the partners it shows the
    user, or handed to the segment form as a dynamic one (`kind=dynamic`)."""
    back = selections.back(request.form, url_for("segments.index"))
    kind = request.form.get("kind", "manual")
    try:
        if kind not in ("manual", "dynamic"):
            raise selections.SelectionError(_("A saved list is a manual or a dynamic segment."))
        chosen = selections.posted(request.form, current_user)
        name = selections.unique_name(chosen.name(), _taken)
        if kind == "dynamic":
            return _dynamic(chosen, name)
        ids = chosen.ids(current_user)
        if not ids:
            raise selections.SelectionError(_("Nobody is in this list: no segment was made."))
        segment = services.create_manual(current_user, name, ids)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(back, code=303)
    db.session.commit()
    flash(
        ngettext(
            "Segment %(name)s is created with %(num)s partner.",
            "Segment %(name)s is created with %(num)s partners.",
            len(ids),
            name=segment.name,
        ),
        "success",
    )
    return redirect(url_for("segments.detail", segment_id=segment.id), code=303)


def register(state) -> None:
    from crm.core.partner_scope import register_partner_scope
    from crm.segments.scope import SCOPE

    register_partner_scope(state, SCOPE)
    selections.register_source(state, SOURCE)
    selections.register_action(state, ACTION)
