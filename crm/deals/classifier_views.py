"""The admins' pages of the deal classifiers under /deals/settings/: kinds of deals with their
stages, participant roles and loss reasons.

Every form is a plain form that works without JavaScript (it redirects back with a message, or
shows the page again with the messages next to the fields); from HTMX the list it changed comes
back as a fragment (the stages of a kind, the rows of roles or reasons)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from crm.core.errors import DomainError
from crm.core.policy import requires
from crm.deals import bp, classifiers
from crm.deals.models import DealKind, DealRole, DealStage, LossReason
from crm.extensions import db
from crm.htmx import is_fragment_request, render

ACTION = "deal.classifiers"
TRUE_VALUES = ("1", "y", "yes", "on", "true")


def _flag(name: str) -> bool:
    return (request.values.get(name) or "").strip().lower() in TRUE_VALUES


def _kind_or_404(kind_id: int) -> DealKind:
    kind = db.session.get(DealKind, kind_id)
    if kind is None:
        abort(404)
    return kind


def _stage_or_404(kind: DealKind, stage_id: int) -> DealStage:
    stage = db.session.get(DealStage, stage_id)
    if stage is None or stage.kind_id != kind.id:
        abort(404)
    return stage


@dataclass
class RowErrors:
    """A refused change of one row (a stage id, a role id, or "new"): the messages by field,
    a message for the row, and what was typed (shown again)."""

    row: Any
    fields: dict[str, list[str]]
    message: str
    typed: dict[str, str]

    @classmethod
    def of(cls, row, exc: DomainError, typed: dict[str, str]) -> RowErrors:
        return cls(row, exc.field_errors, exc.message, typed)

    def get(self, field: str) -> list[str]:
        return self.fields.get(field, [])

    @property
    def unplaced(self) -> list[str]:
        """Messages no input shows: the row shows them above itself."""
        placed = {"name", "probability", "position", "stages"}
        rest = [m for f, ms in self.fields.items() if f not in placed for m in ms]
        return rest or ([] if self.fields else [self.message])


# --- kinds of deals -------------------------------------------------------------------------


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
        "is_process": "1" if _flag("is_process") else "",
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
    return _kind_page(_kind_or_404(kind_id))


def _kind_page(
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
    kind = _kind_or_404(kind_id)
    was_process = kind.is_process
    typed = {"name": request.form.get("name", ""), "is_process": "1" if _flag("is_process") else ""}
    try:
        classifiers.update_kind(
            current_user, kind, name=typed["name"], is_process=bool(typed["is_process"])
        )
    except DomainError as exc:
        db.session.rollback()
        kind = _kind_or_404(kind_id)
        return _kind_page(kind, kind_errors=RowErrors.of(kind.id, exc, typed), status=422)
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
    kind = _kind_or_404(kind_id)
    classifiers.set_kind_active(current_user, kind, _flag("active"))
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


# --- stages ---------------------------------------------------------------------------------


def _stages_done(kind: DealKind, notice: str):
    """After a stage change: the stages fragment (HTMX) or back to the kind's page."""
    if is_fragment_request():
        return _kind_page(kind, notice=notice)
    flash(notice, "success")
    return redirect(url_for("deals.kind", kind_id=kind.id, _anchor="deal-stages"))


def _stages_refused(kind_id: int, row, exc: DomainError, typed: dict[str, str]):
    db.session.rollback()
    kind = _kind_or_404(kind_id)
    return _kind_page(kind, stage_errors=RowErrors.of(row, exc, typed), status=422)


@bp.route("/settings/kinds/<int:kind_id>/stages/new", methods=["POST"])
@requires(ACTION)
def stage_create(kind_id: int):
    """Add a stage at the end of the kind's process."""
    kind = _kind_or_404(kind_id)
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
    kind = _kind_or_404(kind_id)
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
    kind = _kind_or_404(kind_id)
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
    kind = _kind_or_404(kind_id)
    stage = _stage_or_404(kind, stage_id)
    name = stage.name
    try:
        classifiers.delete_stage(current_user, stage)
    except DomainError as exc:
        return _stages_refused(kind_id, stage_id, exc, {})
    db.session.commit()
    return _stages_done(kind, _("The stage «%(name)s» is deleted.", name=name))


# --- participant roles and loss reasons ---------------------------------------------------


@dataclass(frozen=True)
class NamedList:
    """One of the simple classifiers (a name and an active flag) and its pages."""

    model: type
    page: str  # the list's endpoint
    prefix: str  # of the row endpoints: <prefix>_create, <prefix>_update, <prefix>_activate
    title: Any
    intro: Any
    new_label: Any
    create: Any
    rename: Any
    set_active: Any

    def endpoint(self, verb: str) -> str:
        return f"{self.prefix}_{verb}"


ROLES = NamedList(
    DealRole,
    "deals.roles",
    "deals.role",
    _l("Participant roles"),
    _l(
        "The roles of the client's contact persons and of our people in a deal: decision "
        "maker, influencer, user…"
    ),
    _l("New participant role"),
    classifiers.create_role,
    classifiers.rename_role,
    classifiers.set_role_active,
)
REASONS = NamedList(
    LossReason,
    "deals.loss_reasons",
    "deals.loss_reason",
    _l("Loss reasons"),
    _l("A lost deal needs one of these reasons."),
    _l("New loss reason"),
    classifiers.create_loss_reason,
    classifiers.rename_loss_reason,
    classifiers.set_loss_reason_active,
)


def _named_page(named: NamedList, errors: RowErrors | None = None, notice=None, status=200):
    return render(
        "deals/settings/named.html",
        "deals/settings/_named.html",
        named=named,
        rows=classifiers.named_rows(named.model),
        errors=errors,
        notice=notice,
        status=status,
    )


def _named_done(named: NamedList, notice: str):
    if is_fragment_request():
        return _named_page(named, notice=notice)
    flash(notice, "success")
    return redirect(url_for(named.page))


def _named_row_or_404(named: NamedList, row_id: int):
    row = db.session.get(named.model, row_id)
    if row is None:
        abort(404)
    return row


def _named_create(named: NamedList):
    typed = {"name": request.form.get("name", "")}
    try:
        row = named.create(current_user, typed["name"])
    except DomainError as exc:
        db.session.rollback()
        return _named_page(named, RowErrors.of("new", exc, typed), status=422)
    db.session.commit()
    return _named_done(named, _("«%(name)s» is added.", name=row.name))


def _named_update(named: NamedList, row_id: int):
    row = _named_row_or_404(named, row_id)
    typed = {"name": request.form.get("name", "")}
    try:
        named.rename(current_user, row, typed["name"])
    except DomainError as exc:
        db.session.rollback()
        return _named_page(named, RowErrors.of(row_id, exc, typed), status=422)
    db.session.commit()
    return _named_done(named, _("«%(name)s» is saved.", name=row.name))


def _named_activate(named: NamedList, row_id: int):
    row = _named_row_or_404(named, row_id)
    named.set_active(current_user, row, _flag("active"))
    db.session.commit()
    if row.is_active:
        return _named_done(named, _("«%(name)s» is active.", name=row.name))
    return _named_done(
        named, _("«%(name)s» is deactivated: it is no longer offered.", name=row.name)
    )


@bp.route("/settings/roles")
@requires(ACTION)
def roles():
    """Participant roles (ЛПР, influencer, user…)."""
    return _named_page(ROLES)


@bp.route("/settings/roles/new", methods=["POST"])
@requires(ACTION)
def role_create():
    """Add a participant role."""
    return _named_create(ROLES)


@bp.route("/settings/roles/<int:row_id>/edit", methods=["POST"])
@requires(ACTION)
def role_update(row_id: int):
    """Rename a participant role."""
    return _named_update(ROLES, row_id)


@bp.route("/settings/roles/<int:row_id>/active", methods=["POST"])
@requires(ACTION)
def role_activate(row_id: int):
    """Stop offering a participant role (?active=0) or offer it again (?active=1)."""
    return _named_activate(ROLES, row_id)


@bp.route("/settings/loss-reasons")
@requires(ACTION)
def loss_reasons():
    """The reasons a deal is lost."""
    return _named_page(REASONS)


@bp.route("/settings/loss-reasons/new", methods=["POST"])
@requires(ACTION)
def loss_reason_create():
    """Add a loss reason."""
    return _named_create(REASONS)


@bp.route("/settings/loss-reasons/<int:row_id>/edit", methods=["POST"])
@requires(ACTION)
def loss_reason_update(row_id: int):
    """Rename a loss reason."""
    return _named_update(REASONS, row_id)


@bp.route("/settings/loss-reasons/<int:row_id>/active", methods=["POST"])
@requires(ACTION)
def loss_reason_activate(row_id: int):
    """Stop offering a loss reason (?active=0) or offer it again (?active=1)."""
    return _named_activate(REASONS, row_id)
