"""The deal pages: the list (filters, pages, CSV/XLSX), the card, the create/edit form with
contact persons and participants, delete, and the card's linked sales documents. Stage moves
and the result (deals.move/win/lose/reopen) are the board's views; the card posts to them."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import BuildError
from wtforms.fields.choices import SelectChoice

from crm.core.errors import DomainError, PermissionDenied
from crm.core.params import id_or_none
from crm.core.policy import load_or_403, may
from crm.core.timeutil import site_today, utcnow
from crm.core.versioning import StaleRecord
from crm.deals import bp, queries, services, stages
from crm.deals.filters import DealFilter
from crm.deals.forms import EMPTY_ROWS, DealForm, contacts_from, participants_from
from crm.deals.models import STATUSES, Deal
from crm.exporting import EXPORT_FORMATS, export_response
from crm.extensions import db
from crm.forms import apply_errors, submitted_version
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


# --- create / edit ------------------------------------------------------------------------


def _source_interaction():
    """The interaction of `?from_interaction=`: its chain becomes the deal's (404 for a bad
    or unknown id, 403 for one the user may not see)."""
    raw = request.args.get("from_interaction")
    if raw in (None, ""):
        return None
    from crm.interactions.models import Interaction

    interaction_id = id_or_none(raw)
    interaction = db.session.get(Interaction, interaction_id) if interaction_id else None
    if interaction is None:
        abort(404)
    if not may(current_user, "interaction.view", interaction):
        abort(403)
    return interaction


def _chosen_partner(form: DealForm, deal: Deal | None) -> Partner | None:
    partner_id = id_or_none(form.partner_id.data)
    partner = db.session.get(Partner, partner_id) if partner_id else None
    if partner is None:
        return deal.partner if deal is not None else None
    if deal is not None and partner.id == deal.partner_id:
        return partner
    return partner if may(current_user, "partner.view", partner) else None


def _fill_choices(form: DealForm, deal: Deal | None, partner: Partner | None) -> None:
    from crm.interactions.form_support import partner_choices

    form.partner_id.choices = partner_choices(partner, _("— choose a partner —"))
    form.kind_id.choices = [SelectChoice("", _("— choose the kind —"))] + [
        SelectChoice(str(k.id), k.name) for k in queries.kinds(active_only=True)
    ]
    users = queries.assignable_users()
    current = deal.manager if deal is not None else current_user._get_current_object()
    if current is not None and current.id not in {u.id for u in users}:
        users.insert(0, current)
    form.manager_id.choices = [SelectChoice(str(u.id), u.display_name) for u in users]


def _form_data(form: DealForm, *, creating: bool) -> dict:
    data = {
        name: getattr(form, name).data or ""
        for name in ("partner_id", "title", "amount", "expected_close", "source", "description")
    }
    if creating:
        data["kind_id"] = form.kind_id.data or ""
        data["stage_id"] = request.form.get("stage_id", "")
    if may(current_user, "records.assign"):
        data["manager_id"] = form.manager_id.data or ""
    return data


def _place_errors(form: DealForm, exc: DomainError) -> dict:
    """Field errors next to their fields; the contact and participant rows' errors returned
    for the template ({"contacts-0": [...]})."""
    if isinstance(exc, StaleRecord):
        apply_errors(form, exc)
        return {}
    extra = {k: v for k, v in exc.field_errors.items() if not hasattr(form, k)}
    placed = {k: v for k, v in exc.field_errors.items() if hasattr(form, k)}
    apply_errors(form, DomainError(exc.message, placed))
    return extra


def _rows(deal: Deal | None, kind: str) -> list[dict]:
    if request.method == "POST":
        rows = (
            contacts_from(request.form) if kind == "contacts" else participants_from(request.form)
        )
    elif deal is not None:
        rows = queries.contact_rows(deal) if kind == "contacts" else queries.participant_rows(deal)
    else:
        rows = []
    empty = (
        {"contact_person_id": "", "role_id": ""}
        if kind == "contacts"
        else {"user_id": "", "role_id": ""}
    )
    return rows + [dict(empty) for _n in range(EMPTY_ROWS)]


def _show_form(form: DealForm, deal: Deal | None, *, status=200, errors=None, source=None):
    partner = _chosen_partner(form, deal)
    _fill_choices(form, deal, partner)
    kinds = queries.kinds(active_only=True)
    return render(
        "deals/form.html",
        form=form,
        deal=deal,
        partner=partner,
        source=source,
        stage_groups=[(k, k.stages) for k in kinds if not k.is_process and k.stages],
        chosen_stage=request.form.get("stage_id", "") if request.method == "POST" else "",
        contacts=_rows(deal, "contacts"),
        participants=_rows(deal, "participants"),
        persons=partner.contact_persons if partner is not None else [],
        roles=queries.roles(),
        users=queries.assignable_users(),
        row_errors=errors or {},
        can_assign=may(current_user, "records.assign"),
        status=status,
    )


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Open a deal; `?partner_id=` prefills the partner, `?from_interaction=` makes every
    interaction of that one's chain about the new deal."""
    if not may(current_user, "deal.create"):
        abort(403)
    source = _source_interaction()
    form = DealForm()
    if request.method == "GET":
        partner_id = id_or_none(request.args.get("partner_id"))
        if source is not None and source.partner_id:
            partner_id = source.partner_id
        form.partner_id.data = str(partner_id or "")
        form.manager_id.data = str(current_user.id)
        if source is not None:
            form.title.data = source.title
        return _show_form(form, None, source=source)
    errors = {}
    if form.validate():
        data = _form_data(form, creating=True)
        people = {
            "contacts": contacts_from(request.form),
            "participants": participants_from(request.form),
        }
        try:
            if source is not None:
                deal = services.create_from_chain(current_user, source, data, **people)
            else:
                deal = services.create_deal(current_user, data, **people)
        except PermissionDenied:
            db.session.rollback()
            abort(403)
        except DomainError as exc:
            errors = _place_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Deal %(deal)s is created.", deal=deal.label), "success")
            return redirect(url_for("deals.detail", deal_id=deal.id))
    db.session.rollback()
    return _show_form(form, None, status=422, errors=errors, source=source)


@bp.route("/<int:deal_id>/edit", methods=["GET", "POST"])
def update(deal_id: int):
    """Edit a deal (its responsible manager or an admin); a save from an older version is
    refused with what changed since."""
    deal = load_deal(deal_id, edit=True)
    if request.method == "GET":
        form = DealForm(obj=deal)
        form.partner_id.data = str(deal.partner_id)
        form.kind_id.data = str(deal.kind_id)
        form.manager_id.data = str(deal.manager_id or "")
        form.amount.data = format(deal.amount, "f") if deal.amount is not None else ""
        form.expected_close.data = deal.expected_close.isoformat() if deal.expected_close else ""
        form.version.data = deal.version
        return _show_form(form, deal)
    form = DealForm()
    errors, status = {}, 422
    if form.validate():
        try:
            services.update_deal(
                current_user,
                deal,
                _form_data(form, creating=False),
                contacts=contacts_from(request.form),
                participants=participants_from(request.form),
                version=submitted_version(form),
            )
        except PermissionDenied:
            db.session.rollback()
            abort(403)
        except DomainError as exc:
            errors = _place_errors(form, exc)
            status = 409 if isinstance(exc, StaleRecord) else 422
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("deals.detail", deal_id=deal.id))
    db.session.rollback()
    return _show_form(form, load_deal(deal_id, edit=True), status=status, errors=errors)


@bp.route("/contact-rows")
def contact_rows():
    """The form's contact-person rows for the chosen partner (HTMX, on a partner change)."""
    partner_id = id_or_none(request.args.get("partner_id"))
    partner = db.session.get(Partner, partner_id) if partner_id else None
    if partner is not None and not may(current_user, "partner.view", partner):
        partner = None
    return render_template(
        "deals/_contacts.html",
        contacts=[{"contact_person_id": "", "role_id": ""} for _n in range(EMPTY_ROWS + 1)],
        persons=partner.contact_persons if partner is not None else [],
        roles=queries.roles(),
        row_errors={},
    )


@bp.route("/stage-options")
def stage_options():
    """The stage filter's <option>s for the chosen kind (HTMX, on a kind change)."""
    kind_id = id_or_none(request.args.get("kind"))
    return render_template(
        "deals/_stage_options.html", options=queries.stage_options(kind_id), selected=""
    )
