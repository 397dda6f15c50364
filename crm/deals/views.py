"""The deal pages: the list (filters, pages, CSV/XLSX), the card, delete, and the card's linked
sales documents. The create/edit form is crm/deals/form_views.py; stage moves and the result
(deals.move/win/lose/reopen) are the board's views, and the card posts to them."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import BuildError

from crm.core.errors import DomainError, PermissionDenied
from crm.core.policy import load_or_403, may
from crm.core.timeutil import site_today, utcnow
from crm.deals import bp, queries, services, stages
from crm.deals.filters import DealFilter
from crm.deals.models import STATUSES, Deal
from crm.exporting import EXPORT_FORMATS, export_response
from crm.extensions import db
from crm.htmx import is_fragment_request, render
from crm.partners.models import Partner

# The list's downloads are for people (not the data-exchange files): headers in their language.
EXPORT_COLUMNS = [
    _l("Deal number"),
    _l("Title"),
    _l("Partner"),
    _l("Kind of deal"),
    _l("Stage"),
    _l("Status"),
    _l("Amount"),
    _l("Created"),
    _l("Expected close"),
    _l("Closed"),
    _l("Responsible manager"),
    _l("Loss reason"),
]


def load_deal(deal_id: int, *, edit: bool = False) -> Deal:
    """The deal if the user may see it (and edit it when `edit`); else 404/403."""
    actions = ("deal.view", "deal.edit") if edit else ("deal.view",)
    return load_or_403(queries.get_deal, deal_id, *actions)


# --- the list -----------------------------------------------------------------------------


def offer_choices(flt: DealFilter) -> Partner | None:
    """The options of the filter's selects; the partner filtered on, when the user sees it."""
    flt["kind"].options = [(k.id, k.name) for k in queries.kinds()]
    flt["stage"].options = queries.stage_options(flt.kind)
    if flt.stage and flt.stage not in {value for value, _label in flt["stage"].options}:
        # A kind chosen after a stage of another (the stage select follows a bit later).
        flt.problems.append(_("The stage filter was not a stage of the chosen kind; cleared."))
        flt.stage = None
    flt["manager"].options = [(u.id, u.display_name) for u in queries.assignable_users()]
    flt["reason"].options = queries.all_loss_reasons()
    partner = db.session.get(Partner, flt.partner) if flt.partner else None
    if partner is not None and not may(current_user, "partner.view", partner):
        partner = None  # the filter still applies; the label names no one he may not see
    return partner


@bp.route("/")
def index():
    """The deals the user may see, filtered (the contract's parameters), in pages; with
    `format=csv|xlsx` every matching deal as a download."""
    flt = DealFilter.from_args(request.args)
    partner = offer_choices(flt)
    fmt = request.args.get("format", "")
    if fmt in EXPORT_FORMATS and not flt.problems:
        rows = (
            [
                r[0],
                r[1],
                r[2],
                r[3],
                r[4] or "",
                str(STATUSES.get(r[5], r[5])),
                r[6],
                r[7],
                r[8],
                r[9],
                r[10] or r[11] or "",
                r[12] or "",
            ]
            for r in queries.export_rows(current_user, flt)
        )
        header = [str(c) for c in EXPORT_COLUMNS]
        return export_response(fmt, "deals", header, rows)
    page = queries.deal_page(current_user, flt)
    response = render(
        "deals/index.html",
        "deals/_results.html",
        flt=flt,
        page=page,
        partner=partner,
        status=400 if fmt in EXPORT_FORMATS else 200,
    )
    if is_fragment_request():
        # The address bar gets the filter's own URL, not the raw form (empty fields, the
        # partner search box, bad values).
        response.headers["HX-Push-Url"] = url_for("deals.index", **flt.params())
    return response


# --- the card -------------------------------------------------------------------------------


ACTIONS = ("move", "win", "lose", "reopen")


def _url(endpoint: str, **values) -> str | None:
    """The URL of another part's view, None while that part is not installed."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _probability(deal: Deal):
    """(the deal's probability with its components, the closed deals a component needs) for
    an open deal (crm.deals.probability); (None, 0) for a closed one."""
    if not deal.is_open:
        return None, 0
    from crm.deals import probability

    return probability.probability_of(deal), probability.min_closed()


@bp.route("/<int:deal_id>")
def detail(deal_id: int):
    """A deal: its fields and result, stage history, people, documents, timeline and
    probability, with the stage and result actions for those who may move it."""
    deal = load_deal(deal_id)
    now = utcnow()
    days, is_stale = queries.stale_now(deal, now)
    docs = queries.documents(deal)
    items, more = queries.timeline(deal, current_user)
    can_move = may(current_user, "deal.move", deal)
    card_url = url_for("deals.detail", deal_id=deal.id)
    prob, min_closed = _probability(deal)
    kind_stages = deal.kind.stages
    actions = {}
    if can_move:  # the board's views (d-board); an action whose view is not there is not shown
        urls = {name: _url(f"deals.{name}", deal_id=deal.id) for name in ACTIONS}
        actions = {name: url for name, url in urls.items() if url}
    return render(
        "deals/detail.html",
        deal=deal,
        days=days,
        is_stale=is_stale,
        history=queries.history(deal, now),
        documents=docs,
        documents_total=queries.documents_total(docs),
        timeline=items,
        timeline_more=more,
        probability=prob,
        min_closed=min_closed,
        # The result of a process deal is recorded from its last stage (crm.deals.stages.win).
        win_allowed=not (deal.kind.is_process and kind_stages)
        or deal.stage_id == kind_stages[-1].id,
        move_stages=[s for s in kind_stages if s.id != deal.stage_id]
        if not deal.kind.is_process
        else [],
        win_amount=format(deal.amount, "f"),
        can_edit=may(current_user, "deal.edit", deal),
        can_delete=may(current_user, "deal.delete", deal),
        can_move=can_move,
        actions=actions,
        next_stage=stages.next_stage(deal) if deal.is_open and deal.kind.is_process else None,
        reasons=queries.loss_reasons() if can_move and deal.is_open else [],
        card_url=card_url,
        today=site_today(),
    )


@bp.route("/<int:deal_id>/documents", methods=["POST"])
def link_document(deal_id: int):
    """Link a sales document (by its number) to the deal."""
    deal = load_deal(deal_id, edit=True)
    doc_no = (request.form.get("doc_no") or "").strip()[:64]
    try:
        services.link_document(current_user, deal, doc_no)
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("Document %(no)s is linked to the deal.", no=doc_no), "success")
    return redirect(url_for("deals.detail", deal_id=deal_id) + "#deal-documents")


@bp.route("/<int:deal_id>/documents/<int:document_id>/delete", methods=["POST"])
def unlink_document(deal_id: int, document_id: int):
    """Take a sales document off the deal (the document itself stays)."""
    deal = load_deal(deal_id, edit=True)
    if not any(d.document_id == document_id for d in deal.documents):
        abort(404)
    services.unlink_document(current_user, deal, document_id)
    db.session.commit()
    flash(_("The document is no longer linked to the deal."), "success")
    return redirect(url_for("deals.detail", deal_id=deal_id) + "#deal-documents")


@bp.route("/<int:deal_id>/delete", methods=["POST"])
def delete(deal_id: int):
    """Delete a deal (admins); its interactions keep their text and lose the link."""
    deal = load_deal(deal_id)
    if not may(current_user, "deal.delete", deal):
        abort(403)
    label = deal.label
    services.delete_deal(current_user, deal)
    db.session.commit()
    flash(_("Deal %(deal)s is deleted.", deal=label), "success")
    return redirect(url_for("deals.index"))
