"""The segment pages: the list, a segment's card (members with their figures, export, the
refresh history) and the actions on it (refresh, delete, add and remove members by hand).
The rule builder's pages are in crm/segments/builder_views.py."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth.models import User
from crm.core.conditions import condition_types
from crm.core.errors import DomainError
from crm.core.policy import load_or_403, requires
from crm.core.urls import safe_next
from crm.exporting import export_response
from crm.extensions import db
from crm.htmx import is_fragment_request, render
from crm.segments import bp, builder, product_queries, queries, services
from crm.segments.filters import MemberFilter, SegmentFilter, member_filter
from crm.segments.labels import KIND_HINTS, KIND_TITLES, SCHEDULE_TITLES
from crm.segments.models import Segment
from crm.segments.presets import available_presets
from crm.segments.rules import RuleError

EXPORT_FORMATS = ("csv", "xlsx")


@bp.route("/")
@requires("segments.view")
def index():
    """The segments: name, kind, members, owner, last refresh."""
    flt = SegmentFilter.from_args(request.args)
    page = queries.segment_page(flt)
    response = render(
        "segments/index.html",
        "segments/_results.html",
        flt=flt,
        page=page,
        kinds=KIND_TITLES,
        presets=available_presets(),
    )
    if is_fragment_request():
        response.headers["HX-Push-Url"] = url_for("segments.index", **flt.params())
    return response


@bp.route("/<int:segment_id>/count")
@requires("segments.view")
def count(segment_id: int):
    """The number of members the user sees (the list's lazily loaded cell of a dynamic one)."""
    segment = load_or_403(Segment, segment_id, "segments.view")
    try:
        return render("segments/_count.html", total=queries.member_count(segment, current_user))
    except RuleError:
        return render("segments/_count.html", total=None)


def _members_context(segment: Segment, flt: MemberFilter) -> dict:
    try:
        page = queries.member_page(
            segment, current_user, flt.page, flt.q, where=flt.extra_clauses()
        )
        broken = None
    except RuleError as exc:  # a segment its rule names was deleted since
        page, broken = None, exc.message
    return {"segment": segment, "flt": flt, "page": page, "broken": broken}


@bp.route("/<int:segment_id>")
@requires("segments.view")
def detail(segment_id: int):
    """A segment: its rule, its members (those the user may see) with revenue, last purchase
    and debt, and for a periodic one the refresh history."""
    segment = load_or_403(Segment, segment_id, "segments.view")
    flt = member_filter(segment).from_args(request.args)
    context = _members_context(segment, flt)
    if is_fragment_request():
        response = render("segments/_members.html", **context)
        response.headers["HX-Push-Url"] = url_for(
            "segments.detail", segment_id=segment.id, **flt.params()
        )
        return response
    return render(
        "segments/detail.html",
        kinds=KIND_TITLES,
        hints=KIND_HINTS,
        schedules=SCHEDULE_TITLES,
        history=queries.refresh_history(segment) if segment.kind == "periodic" else [],
        owner=db.session.get(User, segment.owner_id) if segment.owner_id else None,
        rule_text=builder.describe(segment.rule, condition_types()),
        **context,
    )


@bp.route("/<int:segment_id>/refreshes/<int:refresh_id>")
@requires("segments.view")
def refresh_detail(segment_id: int, refresh_id: int):
    """Who entered and who left at one refresh (those the user may see)."""
    segment = load_or_403(Segment, segment_id, "segments.view")
    record = queries.refresh_record(segment, refresh_id)
    if record is None:
        abort(404)
    return render(
        "segments/refresh.html",
        "segments/_changes.html",
        segment=segment,
        record=record,
        changes=queries.refresh_changes(record, current_user),
    )


@bp.route("/<int:segment_id>/export")
@requires("segments.view")
def export(segment_id: int):
    """The members the user sees as CSV or XLSX."""
    segment = load_or_403(Segment, segment_id, "segments.view")
    fmt = request.args.get("format", "csv")
    if fmt not in EXPORT_FORMATS:
        flash(_("Unknown export format %(format)s.", format=fmt[:20]), "warning")
        return redirect(url_for("segments.detail", segment_id=segment.id))
    try:
        ids = queries.visible_member_ids(segment, current_user)
    except RuleError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("segments.detail", segment_id=segment.id))
    source = product_queries if segment.of == "products" else queries
    header = [str(title) for title in source.EXPORT_TITLES]
    rows = (source.export_row(r) for r in source.rows_in_chunks(ids))
    return export_response(fmt, f"segment-{segment.id}", header, rows)
    header = [
        _("Code"),
        _("Partner"),
        _("City"),
        _("Responsible"),
        _("Revenue, 12 months"),
        _("Last purchase"),
        _("Debt"),
    ]
    rows = (
        (r.code, r.name, r.city, r.manager, r.revenue, r.last_purchase, r.debt)
        for r in queries.rows_in_chunks(ids)
    )
    return export_response(fmt, f"segment-{segment.id}", header, rows)


def _id_field(segment: Segment) -> str:
    return "product_id" if segment.of == "products" else "partner_id"


def _back(segment: Segment):
    """Back to the segment's page, or to the same-site page the form came from (`next`: the
    partner card's Segments tab adds and removes a partner here)."""
    fallback = url_for("segments.detail", segment_id=segment.id)
    return redirect(safe_next(request.form.get("next"), fallback))


@bp.route("/<int:segment_id>/refresh", methods=["POST"])
@requires("segments.view")
def refresh(segment_id: int):
    """Recompute a periodic segment now."""
    segment = load_or_403(Segment, segment_id, "segments.edit")
    try:
        record = services.refresh(segment)
    except (DomainError, RuleError) as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _back(segment)
    db.session.commit()
    flash(
        _(
            "Refreshed: %(members)s members, %(entered)s entered, %(left)s left.",
            members=record.members,
            entered=record.entered,
            left=record.left,
        ),
        "success",
    )
    return _back(segment)


@bp.route("/<int:segment_id>/delete", methods=["POST"])
@requires("segments.view")
def delete(segment_id: int):
    """Delete a segment (a rule naming it then says so where it is used)."""
    segment = load_or_403(Segment, segment_id, "segments.edit")
    name = segment.name
    services.delete_segment(current_user, segment)
    db.session.commit()
    flash(_("Segment %(name)s is deleted.", name=name), "success")
    return redirect(url_for("segments.index"))


@bp.route("/<int:segment_id>/members/add", methods=["POST"])
@requires("segments.view")
def add_members(segment_id: int):
    """Add partners to a manual segment by their codes (pasted, one per line or separated by
    commas) or by ids (checkboxes of a list)."""
    segment = load_or_403(Segment, segment_id, "segments.edit")
    codes = services.split_codes(request.form.get("codes", ""))
    try:
        ids, unknown = services.chosen_ids(
            current_user, segment, codes, request.form.getlist(_id_field(segment))
        )
        added = services.add_members(current_user, segment, ids)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _back(segment)
    db.session.commit()
    if segment.of == "products":
        flash(_("Added %(num)s products.", num=added), "success")
    else:
        flash(_("Added %(num)s partners.", num=added), "success")
    if unknown:
        flash(_("Not found or not yours: %(codes)s.", codes=", ".join(unknown[:20])), "warning")
    return _back(segment)


@bp.route("/<int:segment_id>/members/remove", methods=["POST"])
@requires("segments.view")
def remove_members(segment_id: int):
    """Remove the ticked partners from a manual segment."""
    segment = load_or_403(Segment, segment_id, "segments.edit")
    try:
        ids, _unknown = services.chosen_ids(
            current_user, segment, [], request.form.getlist(_id_field(segment))
        )
        removed = services.remove_members(current_user, segment, ids)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _back(segment)
    db.session.commit()
    if segment.of == "products":
        flash(_("Removed %(num)s products.", num=removed), "success")
    else:
        flash(_("Removed %(num)s partners.", num=removed), "success")
    return _back(segment)
