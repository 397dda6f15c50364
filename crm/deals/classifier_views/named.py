"""The admins' pages of participant roles (/deals/settings/roles) and loss reasons
(/deals/settings/loss-reasons): the rows to rename, deactivate or activate, and a form for a new
one. From HTMX the rows come back as a fragment; without JavaScript the form redirects back
with a message, or shows the page again with the messages next to the fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.core.errors import DomainError
from crm.core.policy import requires
from crm.deals import bp, classifiers
from crm.deals.classifier_views.common import ACTION, RowErrors, flag
from crm.extensions import db
from crm.htmx import is_fragment_request, render


@dataclass(frozen=True)
class NamedList:
    """One of the simple classifiers (a name and an active flag) and its pages."""

    classifier: classifiers.NamedClassifier
    page: str  # the list's endpoint
    prefix: str  # of the row endpoints: <prefix>_create, <prefix>_update, <prefix>_activate
    title: Any
    intro: Any
    new_label: Any

    def endpoint(self, verb: str) -> str:
        return f"{self.prefix}_{verb}"


ROLES = NamedList(
    classifiers.ROLES,
    "deals.roles",
    "deals.role",
    _l("Participant roles"),
    _l(
        "The roles of the client's contact persons and of our people in a deal: decision "
        "maker, influencer, user…"
    ),
    _l("New participant role"),
)
REASONS = NamedList(
    classifiers.LOSS_REASONS,
    "deals.loss_reasons",
    "deals.loss_reason",
    _l("Loss reasons"),
    _l("A lost deal needs one of these reasons."),
    _l("New loss reason"),
)


def _named_page(named: NamedList, errors: RowErrors | None = None, notice=None, status=200):
    return render(
        "deals/settings/named.html",
        "deals/settings/_named.html",
        named=named,
        rows=named.classifier.rows(),
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
    row = db.session.get(named.classifier.model, row_id)
    if row is None:
        abort(404)
    return row


def _named_create(named: NamedList):
    typed = {"name": request.form.get("name", "")}
    try:
        row = named.classifier.create(current_user, typed["name"])
    except DomainError as exc:
        db.session.rollback()
        return _named_page(named, RowErrors.of("new", exc, typed), status=422)
    db.session.commit()
    return _named_done(named, _("«%(name)s» is added.", name=row.name))


def _named_update(named: NamedList, row_id: int):
    row = _named_row_or_404(named, row_id)
    typed = {"name": request.form.get("name", "")}
    try:
        named.classifier.rename(current_user, row, typed["name"])
    except DomainError as exc:
        db.session.rollback()
        return _named_page(named, RowErrors.of(row_id, exc, typed), status=422)
    db.session.commit()
    return _named_done(named, _("«%(name)s» is saved.", name=row.name))


def _named_activate(named: NamedList, row_id: int):
    row = _named_row_or_404(named, row_id)
    named.classifier.set_active(current_user, row, flag("active"))
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
