"""The Suppression list tab: the addresses nothing is sent to any more (bounced, unsubscribed
from everything, SMS STOP, complaints, added by hand) — searching them, adding some by hand,
taking one off, and the CSV export. A user who sees only some partners sees only their
addresses here."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from crm.core.errors import DomainError, PermissionDenied
from crm.core.policy import may, requires
from crm.exporting import csv_response
from crm.extensions import db
from crm.forms import apply_errors
from crm.htmx import is_fragment_request, render
from crm.messaging import bp, consent_queries
from crm.messaging.consent_forms import SuppressionAddForm
from crm.messaging.consent_labels import SUPPRESSION_REASON_TITLES
from crm.messaging.filters import SuppressionFilter
from crm.messaging.labels import CHANNEL_TITLES
from crm.messaging.models import Suppression
from crm.messaging.suppression import RESTRICTED_REASONS, suppress_many, unsuppress


def _setup_suppression(state):
    from crm.messaging.sections import Section, register_section

    register_section(state, Section("messaging.suppression", _l("Suppression list"), 50))


bp.record_once(_setup_suppression)


def _page(flt: SuppressionFilter, form: SuppressionAddForm, status: int = 200):
    response = render(
        "messaging/suppression/index.html",
        "messaging/suppression/_results.html",
        flt=flt,
        page=consent_queries.suppression_page(current_user, flt),
        form=form,
        reasons=SUPPRESSION_REASON_TITLES,
        channels=CHANNEL_TITLES,
        restricted=RESTRICTED_REASONS,
        status=status,
    )
    if is_fragment_request():
        response.headers["HX-Push-Url"] = url_for("messaging.suppression", **flt.params())
    return response


@bp.get("/suppression/")
@requires("messaging.view")
def suppression():
    """The suppression list: search by address, filter by channel and reason."""
    return _page(SuppressionFilter.from_args(request.args), SuppressionAddForm())


@bp.get("/suppression/export")
@requires("messaging.view")
def suppression_export():
    """The matching addresses as CSV (codes, UTC times: a machine format)."""
    flt = SuppressionFilter.from_args(request.args)
    header = ["channel", "address", "reason", "note", "added_at_utc"]
    rows = (
        (s.channel, s.address_norm, s.reason, s.note, s.created_at.isoformat(timespec="seconds"))
        for s in consent_queries.suppression_rows(current_user, flt)
    )
    return csv_response("suppression-list", header, rows)


@bp.post("/suppression/add")
@requires("messaging.edit")
def suppression_add():
    """Add one address, or many pasted, to the suppression list by hand."""
    form = SuppressionAddForm()
    if form.validate():
        try:
            result = suppress_many(
                current_user, form.channel.data, form.addresses.data or "", note=form.note.data
            )
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            message = ngettext(
                "%(num)s address added to the suppression list.",
                "%(num)s addresses added to the suppression list.",
                len(result.added),
            )
            if result.present:
                message += " " + ngettext(
                    "%(num)s was on it already.", "%(num)s were on it already.", len(result.present)
                )
            flash(message, "success")
            return redirect(url_for("messaging.suppression"))
    db.session.rollback()
    return _page(SuppressionFilter.from_args({}), form, 422)


@bp.post("/suppression/<int:suppression_id>/remove")
@requires("messaging.consent")
def suppression_remove(suppression_id: int):
    """Take an address off the list (a bounce or a complaint: admins and marketers only, with
    a note saying why)."""
    stmt = consent_queries.suppression_select(current_user).where(Suppression.id == suppression_id)
    row = db.session.execute(stmt).scalar_one_or_none()
    if row is None:
        abort(404)
    if row.reason in RESTRICTED_REASONS and not may(current_user, "messaging.edit"):
        abort(403)
    address = row.address_norm
    try:
        unsuppress(current_user, row.channel, address, note=request.form.get("note", ""))
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("messaging.suppression", q=address))
    db.session.commit()
    flash(_("%(address)s is taken off the suppression list.", address=address), "success")
    return redirect(url_for("messaging.suppression"))
