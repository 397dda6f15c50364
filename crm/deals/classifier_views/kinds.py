"""The admins' pages of the kinds of deals under /deals/settings/kinds: the list with a form for
a new kind, and a kind's page (its name, process flag and active state; its stages are in
crm/deals/classifier_views/stages.py).

Every form is a plain form that works without JavaScript: it redirects back with a message, or
shows the page again with the messages next to the fields."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from crm.core.errors import DomainError
from crm.core.policy import requires
from crm.deals import bp, classifiers
from crm.deals.classifier_views.common import ACTION, RowErrors, flag
from crm.deals.models import DealKind
from crm.extensions import db
from crm.htmx import render


def kind_or_404(kind_id: int) -> DealKind:
    kind = db.session.get(DealKind, kind_id)
    if kind is None:
        abort(404)
    return kind


@bp.route("/settings/kinds")
@requires(ACTION)
def kinds():
    """The kinds of deals with their number of stages and open deals; a form for a new one."""
    return _kinds_page()


def _kinds_page(errors: RowErrors | None = None, status: int = 200):
    return render(
        "deals/settings/kinds.html",
        "deals/settings/_kinds.html",
        rows=classifiers.kinds_overview(),
        errors=errors,
        status=status,
    )


@bp.route("/settings/kinds/new", methods=["POST"])
@requires(ACTION)
def kind_create():
    """Create a kind with its stages (one name a line)."""
    typed = {
        "name": request.form.get("name", ""),
        "stages": request.form.get("stages", ""),
        "is_process": "1" if flag("is_process") else "",
    }
    try:
        kind = classifiers.create_kind(
            current_user,
            typed["name"],
            is_process=bool(typed["is_process"]),
            stages=typed["stages"].splitlines(),
        )
    except DomainError as exc:
        db.session.rollback()
        return _kinds_page(RowErrors.of("new", exc, typed), status=422)
    db.session.commit()
    flash(_("The kind of deal «%(name)s» is created.", name=kind.name), "success")
    return redirect(url_for("deals.kind", kind_id=kind.id))


@bp.route("/settings/kinds/<int:kind_id>")
@requires(ACTION)
def kind(kind_id: int):
    """One kind: its name, process flag and active state, and its stages to edit."""
    return kind_page(kind_or_404(kind_id))


def kind_page(
    kind: DealKind,
    *,
    stage_errors: RowErrors | None = None,
    kind_errors: RowErrors | None = None,
    notice: str | None = None,
    status: int = 200,
):
    return render(
        "deals/settings/kind.html",
        "deals/settings/_stages.html",
        kind=kind,
        usage=classifiers.stage_usage(kind),
        out_of_order=0 if kind.is_process else classifiers.out_of_order_open_deals(kind),
        errors=stage_errors,
        kind_errors=kind_errors,
        notice=notice,
        status=status,
    )


@bp.route("/settings/kinds/<int:kind_id>/edit", methods=["POST"])
@requires(ACTION)
def kind_update(kind_id: int):
    """Rename the kind, make it a process or not."""
    kind = kind_or_404(kind_id)
    was_process = kind.is_process
    typed = {"name": request.form.get("name", ""), "is_process": "1" if flag("is_process") else ""}
    try:
        classifiers.update_kind(
            current_user, kind, name=typed["name"], is_process=bool(typed["is_process"])
        )
    except DomainError as exc:
        db.session.rollback()
        kind = kind_or_404(kind_id)
        return kind_page(kind, kind_errors=RowErrors.of(kind.id, exc, typed), status=422)
    db.session.commit()
    flash(_("Saved."), "success")
    if kind.is_process and not was_process:
        _flash_process_switch(kind)
    return redirect(url_for("deals.kind", kind_id=kind.id))


def _flash_process_switch(kind: DealKind) -> None:
    """Turning a kind into a process is allowed whatever its open deals went through: their
    stages and history stay, and the order applies to their next moves. Say so."""
    flash(_("From now on the stages of «%(kind)s» go strictly in order.", kind=kind.name), "info")
    count = classifiers.out_of_order_open_deals(kind)
    if count:
        flash(
            ngettext(
                "%(num)d open deal got to its stage out of order. It keeps its stage and "
                "history; the order applies to its next moves.",
                "%(num)d open deals got to their stages out of order. They keep their stages "
                "and history; the order applies to their next moves.",
                count,
            ),
            "warning",
        )


@bp.route("/settings/kinds/<int:kind_id>/active", methods=["POST"])
@requires(ACTION)
def kind_activate(kind_id: int):
    """Deactivate a kind (?active=0: no new deals of it) or activate it again (?active=1)."""
    kind = kind_or_404(kind_id)
    classifiers.set_kind_active(current_user, kind, flag("active"))
    db.session.commit()
    if kind.is_active:
        flash(_("The kind of deal «%(name)s» is active.", name=kind.name), "success")
    else:
        flash(
            _(
                "The kind of deal «%(name)s» is deactivated: new deals cannot be of it; its "
                "deals stay as they are.",
                name=kind.name,
            ),
            "success",
        )
    return redirect(url_for("deals.kind", kind_id=kind.id))
