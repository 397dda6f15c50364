"""The segment form with its rule builder: create and edit a segment; the builder's HTMX
round trips (a changed structure redraws the builder, a changed value only the live count).
Without JavaScript the builder's buttons submit the page, which is drawn again unsaved."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from crm.core.conditions import condition_types
from crm.core.errors import DomainError, PermissionDenied
from crm.core.policy import load_or_403, may, requires, rows_clause
from crm.extensions import db
from crm.forms import apply_errors, submitted_version
from crm.htmx import render
from crm.partners.models import Partner
from crm.segments import bp, builder, services
from crm.segments.forms import SegmentForm
from crm.segments.labels import KIND_HINTS
from crm.segments.models import OBJECTS, Segment
from crm.segments.presets import available_presets
from crm.segments.rules import RuleError, matching
from crm.segments.segment_conditions import compiling_as

MAX_RULE_ARG = 20_000  # a rule handed over in ?rule= (a report's "save as segment")


def _of(segment: Segment | None = None) -> str:
    """What the segment being built holds: the saved segment's, else the form's choice."""
    if segment is not None:
        return segment.of
    chosen = request.form.get("of") or request.args.get("of") or "partners"
    return chosen if chosen in OBJECTS else "partners"


def _types(of: str = "partners") -> dict:
    return {k: t for k, t in condition_types().items() if t.of == of}


def _type_list(types: dict) -> list:
    return sorted(types.values(), key=lambda t: (t.order, str(t.title)))


def _presets() -> dict:
    return {p.key: p for p in available_presets()}


def evaluate(tree: builder.Node, segment_id: int | None = None, of: str = "partners") -> dict:
    """The rule of a builder tree, the number of partners it gives that the user may see,
    and the problem if it gives none (placed on the node at fault)."""
    types = _types(of)
    try:
        rule, where = builder.to_rule(tree, types)
    except builder.BuilderProblem as exc:
        return {"rule": None, "count": None, "problem": str(exc), "of": of}
    if rule is None:
        return {"rule": None, "count": None, "problem": "", "of": of}
    try:
        with compiling_as(segment_id):
            stmt = matching(rule, of)
    except RuleError as exc:
        node = builder.place_error(where, exc.path, exc.reason)
        problem = builder.located(node, exc.path, types, exc.reason)
        return {"rule": rule, "count": None, "problem": problem, "of": of}
    clause = rows_clause(current_user, Partner) if of == "partners" else None
    if clause is not None:
        stmt = stmt.where(clause)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    return {"rule": rule, "count": total, "problem": "", "of": of}


def _builder_context(tree: builder.Node, segment: Segment | None) -> dict:
    of = _of(segment)
    types = _types(of)
    return {
        "tree": tree,
        "types": types,
        "type_list": _type_list(types),
        "presets": list(_presets().values()) if of == "partners" else [],
        "outcome": evaluate(tree, segment.id if segment else None, of),
        "segment": segment,
        "param_text": builder.param_value_text,
    }


def _initial_tree() -> builder.Node:
    """The builder's start: a preset (?preset=), a rule handed over (?rule=, JSON), or one
    empty condition."""
    preset = _presets().get(request.args.get("preset", ""))
    if preset is not None:
        return builder.from_rule(preset.rule, preset.fill)
    raw = request.args.get("rule", "")
    if raw and len(raw) <= MAX_RULE_ARG:
        try:
            return builder.from_rule(json.loads(raw))
        except ValueError:
            flash(_("The rule handed over could not be read; start from an empty one."), "warning")
    return builder.empty_tree()


def _show(form: SegmentForm, tree: builder.Node, segment: Segment | None, status: int = 200):
    return render(
        "segments/form.html",
        form=form,
        hints=KIND_HINTS,
        status=status,
        **_builder_context(tree, segment),
    )


def _posted_tree() -> tuple[builder.Node, str]:
    tree = builder.from_form(request.form)
    op = request.form.get("op", "")
    if op:
        tree = builder.apply(tree, op, _presets())
    return tree, op


def _rule_for_save(form: SegmentForm, tree: builder.Node, kind: str, segment_id=None):
    """The rule to store, or None after putting the problem on the form."""
    of = _of(None if segment_id is None else db.session.get(Segment, segment_id))
    types = _types(of)
    try:
        rule, where = builder.to_rule(tree, types)
    except builder.BuilderProblem as exc:
        form.form_errors.append(str(exc))
        return False, None
    if rule is None and kind != "manual":
        form.form_errors.append(_("A dynamic or periodic segment needs at least one condition."))
        return False, None
    if rule is not None:
        try:
            with compiling_as(segment_id):
                matching(rule, of)
        except RuleError as exc:
            node = builder.place_error(where, exc.path, exc.reason)
            problem = builder.located(node, exc.path, types, exc.reason)
            form.form_errors.append(_("The rule has a problem: %(problem)s", problem=problem))
            return False, None
    return True, rule


@bp.route("/new", methods=["GET", "POST"])
@requires("segments.create")
def create():
    """A new segment: name, kind, its rule built from conditions (or a template)."""
    form = SegmentForm()
    if request.method == "GET":
        if request.args.get("kind") in KIND_HINTS:
            form.kind.data = request.args["kind"]
        if request.args.get("name"):
            form.name.data = request.args["name"][:200]
        form.of.data = _of()
        return _show(form, _initial_tree(), None)
    tree, op = _posted_tree()
    if op:
        return _show(form, tree, None)
    if form.validate():
        ok, rule = _rule_for_save(form, tree, form.kind.data)
        if ok:
            try:
                segment = services.create_segment(
                    current_user,
                    form.name.data,
                    form.kind.data,
                    rule,
                    schedule=form.schedule.data,
                    description=form.description.data or "",
                    of=_of(),
                )
            except DomainError as exc:
                db.session.rollback()
                apply_errors(form, exc)
            else:
                db.session.commit()
                flash(_("Segment %(name)s is created.", name=segment.name), "success")
                return redirect(url_for("segments.detail", segment_id=segment.id))
    db.session.rollback()
    return _show(form, tree, None, 422)


@bp.route("/<int:segment_id>/edit", methods=["GET", "POST"])
@requires("segments.view")
def update(segment_id: int):
    """Change a segment's name, description, schedule and rule (its kind stays)."""
    segment = load_or_403(Segment, segment_id, "segments.edit")
    form = SegmentForm(obj=segment if request.method == "GET" else None)
    form.kind.data = segment.kind
    form.of.data = segment.of
    if request.method == "GET":
        form.schedule.data = segment.schedule or "daily"
        return _show(form, builder.from_rule(segment.rule), segment)
    tree, op = _posted_tree()
    if op:
        return _show(form, tree, segment)
    if form.validate():
        ok, rule = _rule_for_save(form, tree, segment.kind, segment.id)
        if ok:
            try:
                services.update_segment(
                    current_user,
                    segment,
                    form.name.data,
                    rule,
                    schedule=form.schedule.data,
                    description=form.description.data or "",
                    version=submitted_version(form),
                )
            except PermissionDenied:
                db.session.rollback()
                abort(403)
            except DomainError as exc:
                db.session.rollback()
                segment = db.session.get(Segment, segment_id)
                apply_errors(form, exc)
            else:
                db.session.commit()
                flash(_("Changes saved."), "success")
                return redirect(url_for("segments.detail", segment_id=segment.id))
    db.session.rollback()
    return _show(form, tree, segment, 422)


def _builder_segment() -> Segment | None:
    """The segment whose form posts to the builder (?segment_id=), if any and editable."""
    raw = request.args.get("segment_id", "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        abort(404)
    return load_or_403(Segment, int(raw), "segments.edit")


def _may_build() -> None:
    if not (may(current_user, "segments.create") or may(current_user, "segments.edit")):
        abort(403)


@bp.route("/builder", methods=["POST"])
@requires("segments.view")
def builder_fragment():
    """The builder redrawn after a change of its structure (HTMX)."""
    _may_build()
    segment = _builder_segment()
    tree, _op = _posted_tree()
    context = _builder_context(tree, segment)
    for node in tree.walk():  # a condition just added is not a mistake yet: the count says
        node.error = ""  # what is missing, the node shows it only when a save is refused
    return render("segments/_builder.html", **context)


@bp.route("/builder/count", methods=["POST"])
@requires("segments.view")
def builder_count():
    """The live count of the rule as typed so far (HTMX)."""
    _may_build()
    segment = _builder_segment()
    tree = builder.from_form(request.form)
    return render(
        "segments/_rule_count.html",
        outcome=evaluate(tree, segment.id if segment else None, _of(segment)),
    )
