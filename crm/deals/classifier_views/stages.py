"""The admins' forms of a kind's stages on the kind's page (/deals/settings/kinds/<id>): add,
rename, set the default probability, move, delete. From HTMX the stages come back as a fragment;
without JavaScript the form redirects back to the kind's page with a message."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.errors import DomainError
from crm.core.policy import requires
from crm.deals import bp, classifiers
from crm.deals.classifier_views.common import ACTION, RowErrors
from crm.deals.classifier_views.kinds import kind_or_404, kind_page
from crm.deals.models import DealKind, DealStage
from crm.extensions import db
from crm.htmx import is_fragment_request


def _stage_or_404(kind: DealKind, stage_id: int) -> DealStage:
    stage = db.session.get(DealStage, stage_id)
    if stage is None or stage.kind_id != kind.id:
        abort(404)
    return stage


def _stages_done(kind: DealKind, notice: str):
    """After a stage change: the stages fragment (HTMX) or back to the kind's page."""
    if is_fragment_request():
        return kind_page(kind, notice=notice)
    flash(notice, "success")
    return redirect(url_for("deals.kind", kind_id=kind.id, _anchor="deal-stages"))


def _stages_refused(kind_id: int, row, exc: DomainError, typed: dict[str, str]):
    db.session.rollback()
    kind = kind_or_404(kind_id)
    return kind_page(kind, stage_errors=RowErrors.of(row, exc, typed), status=422)


@bp.route("/settings/kinds/<int:kind_id>/stages/new", methods=["POST"])
@requires(ACTION)
def stage_create(kind_id: int):
    """Add a stage at the end of the kind's process."""
    kind = kind_or_404(kind_id)
    typed = {k: request.form.get(k, "") for k in ("name", "probability")}
    try:
        stage = classifiers.add_stage(current_user, kind, typed["name"], typed["probability"])
    except DomainError as exc:
        return _stages_refused(kind_id, "new", exc, typed)
    db.session.commit()
    return _stages_done(kind, _("The stage «%(name)s» is added.", name=stage.name))


@bp.route("/settings/kinds/<int:kind_id>/stages/<int:stage_id>/edit", methods=["POST"])
@requires(ACTION)
def stage_update(kind_id: int, stage_id: int):
    """Rename a stage, set its default probability, move it to another position."""
    kind = kind_or_404(kind_id)
    stage = _stage_or_404(kind, stage_id)
    typed = {k: request.form.get(k, "") for k in ("name", "probability", "position")}
    try:
        classifiers.update_stage(
            current_user,
            stage,
            name=typed["name"],
            probability=typed["probability"],
            position=typed["position"],
        )
    except DomainError as exc:
        return _stages_refused(kind_id, stage_id, exc, typed)
    db.session.commit()
    return _stages_done(kind, _("The stage «%(name)s» is saved.", name=stage.name))


@bp.route("/settings/kinds/<int:kind_id>/stages/<int:stage_id>/move", methods=["POST"])
@requires(ACTION)
def stage_move(kind_id: int, stage_id: int):
    """Move a stage one place up (?direction=up) or down (?direction=down)."""
    kind = kind_or_404(kind_id)
    stage = _stage_or_404(kind, stage_id)
    direction = request.values.get("direction")
    if direction not in ("up", "down"):
        abort(400)
    classifiers.move_stage(current_user, stage, -1 if direction == "up" else 1)
    db.session.commit()
    return _stages_done(
        kind,
        _(
            "The stage «%(name)s» is now number %(position)s.",
            name=stage.name,
            position=stage.position,
        ),
    )


@bp.route("/settings/kinds/<int:kind_id>/stages/<int:stage_id>/delete", methods=["POST"])
@requires(ACTION)
def stage_delete(kind_id: int, stage_id: int):
    """Delete a stage no deal is or was at."""
    kind = kind_or_404(kind_id)
    stage = _stage_or_404(kind, stage_id)
    name = stage.name
    try:
        classifiers.delete_stage(current_user, stage)
    except DomainError as exc:
        return _stages_refused(kind_id, stage_id, exc, {})
    db.session.commit()
    return _stages_done(kind, _("The stage «%(name)s» is deleted.", name=name))
