"""Segments through the JSON API (/api/v1/segments): list, read, create, change and delete
segments; a segment's members (only the partners the token's user may see; a dynamic one's as
of a date); counting a rule without saving it; refreshing a periodic segment; adding and
removing members of a manual one by partner code.

A segment is not an import kind's row, so it is not a resource of crm.api.queries: it is read
here and written by the segments' own services (crm.segments.services), as its pages write it,
and it describes its operations in the OpenAPI document itself (openapi.Described). Rules are
data (README, "Segment rules (JSON)"): the JSON tree sent here is the one the builder stores and
`crm segments create` reads; a bad one is a 422 naming the node at fault
(`rule.all[1].not.cities`). Who may do what is crm.segments.policy: every role reads; the API's
writers (api.write) create segments and change those they may edit (a manager his own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from crm.access import viewer_may_post
from crm.api import bp, openapi
from crm.api.filters import list_filter, wanted
from crm.api.queries import MAX_PER_PAGE, Filter
from crm.api.services import ApiError, stale_answer, wanted_version
from crm.api.views import OPERATIONS, _json, json_body
from crm.auth.models import User
from crm.core import versioning
from crm.core.conditions import condition_types
from crm.core.errors import DomainError
from crm.core.keys import is_key_race
from crm.core.params import BadValue, parse_date
from crm.core.policy import may, rows_clause
from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import Product
from crm.segments import services
from crm.segments.models import KINDS, SCHEDULES, Segment, SegmentMember, SegmentRefresh
from crm.segments.queries import member_count, members_select
from crm.segments.rules import RuleError, matching

FIELDS = ("name", "kind", "rule", "schedule", "description")
TEXT_MAX = {"name": services.NAME_MAX, "description": services.DESCRIPTION_MAX}
CODE_MAX = 64  # Partner.code


def _kind(raw) -> str:
    if raw not in KINDS:
        raise BadValue(f"{str(raw)[:40]!r} is not a kind: use {', '.join(KINDS)}")
    return raw


@dataclass(frozen=True)
class _Listing:
    """The query string of a list (page, per_page, its filters) as crm.api.filters reads it."""

    name: str
    filters: tuple[Filter, ...] = ()

    @property
    def endpoint(self) -> str:
        return self.name.replace("-", "_")


SEGMENT_LIST = _Listing("segments", (Filter("kind", _kind),))
MEMBER_LIST = _Listing("segment-members", (Filter("as_of", parse_date),))


# --- answers ------------------------------------------------------------------------------


def _moment(value: datetime | None) -> str | None:
    """A stored moment (naive UTC) as the API writes it: `2026-03-01T09:30:00Z`."""
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def _refresh_json(record: SegmentRefresh | None) -> dict | None:
    if record is None:
        return None
    return {
        "id": record.id,
        "at": _moment(record.at),
        "members": record.members,
        "entered": record.entered,
        "left": record.left,
    }


def _items(user, segments: list[Segment], *, count_dynamic: bool) -> list[dict]:
    """The segments as the API shows them. `members` counts the members `user` may see: stored
    ones by one grouped query; a dynamic one's rule is evaluated only when `count_dynamic` (a
    single segment read; a list leaves it null, as the segment list page counts it lazily)."""
    ids = [s.id for s in segments]
    stored = (
        select(SegmentMember.segment_id, func.count())
        .join(Partner, Partner.id == SegmentMember.partner_id)
        .where(SegmentMember.segment_id.in_(ids), Partner.merged_into_id.is_(None))
        .group_by(SegmentMember.segment_id)
    )
    clause = rows_clause(user, Partner)
    if clause is not None:
        stored = stored.where(clause)
    counts = dict(db.session.execute(stored).all()) if ids else {}
    latest = select(func.max(SegmentRefresh.id)).where(SegmentRefresh.segment_id.in_(ids))
    refreshes = {
        r.segment_id: r
        for r in db.session.execute(
            select(SegmentRefresh).where(
                SegmentRefresh.id.in_(latest.group_by(SegmentRefresh.segment_id))
            )
        ).scalars()
    }
    owner_ids = {s.owner_id for s in segments if s.owner_id}
    owners = (
        dict(db.session.execute(select(User.id, User.email).where(User.id.in_(owner_ids))).all())
        if owner_ids
        else {}
    )
    found = []
    for s in segments:
        members, problem = counts.get(s.id, 0), None
        if s.kind == "dynamic":
            members = None
            if count_dynamic:
                try:
                    members = member_count(s, user)
                except RuleError as exc:  # a segment its rule names was deleted since
                    problem = exc.message
        found.append(
            {
                "id": s.id,
                "version": s.version,
                "name": s.name,
                "kind": s.kind,
                "of": s.of,
                "schedule": s.schedule,
                "description": s.description or None,
                "rule": s.rule,
                "owner": owners.get(s.owner_id),
                "created_at": _moment(s.created_at),
                "refreshed_at": _moment(s.refreshed_at),
                "members": members,
                "last_refresh": _refresh_json(refreshes.get(s.id)),
                "problem": problem,
            }
        )
    return found


def _item(user, segment: Segment) -> dict:
    return _items(user, [segment], count_dynamic=True)[0]


def _with_etag(response, segment: Segment):
    response.set_etag(str(segment.version))
    return response


def _not_found(segment_id: int) -> ApiError:
    return ApiError(404, f"There is no segment with id {segment_id}.")


def _segment(segment_id: int) -> Segment:
    segment = db.session.get(Segment, segment_id)
    if segment is None:
        raise _not_found(segment_id)
    return segment


def _editable(segment_id: int) -> Segment:
    """The segment, if the token's user may change it (403 otherwise)."""
    segment = _segment(segment_id)
    if not may(current_user, "segments.edit", segment):
        raise ApiError(
            403,
            f"Your role ({current_user.role}) may not change segment {segment.id}: "
            "a manager changes only the segments he owns.",
        )
    return segment


# --- refusals -----------------------------------------------------------------------------


def _err(field: str | None, message: str) -> dict:
    return {"field": field, "message": message}


def _problems(exc: DomainError) -> list[dict]:
    """A service's refusal as field errors; a rule's names the node at fault."""
    if isinstance(exc, RuleError):
        return [_err(f"rule.{exc.path}" if exc.path else "rule", exc.reason)]
    found = [_err(f, m) for f, messages in exc.field_errors.items() for m in messages]
    return found or [_err(None, exc.message)]


def _refused(errors: list[dict], what: str = "The segment is not saved") -> ApiError:
    n = len(errors)
    return ApiError(422, f"{what}: {n} problem{'s' if n != 1 else ''}.", errors)


def _name_taken(name, segment_id: int | None = None) -> None:
    """A segment's name is its natural key (unique): another segment's is a 409, as a key
    that exists is for the other resources."""
    if not isinstance(name, str):
        return
    found = services.segment_named(name)
    if found is not None and found.id != segment_id:
        raise ApiError(409, f"A segment named {found.name!r} exists: id {found.id}.")


def _plain_numbers(value):
    """A rule as the JSON column stores it and the CLI reads it: the API parses fractions as
    Decimal (money stays exact elsewhere); here they become floats, as json.load gives them."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(v) for v in value]
    return value


def _fields(body: dict, allowed: tuple[str, ...]) -> dict:
    """The body's fields, each of the JSON type it takes; a 422 listing every bad one."""
    errors = []
    for name, value in body.items():
        if name not in allowed:
            errors.append(_err(name, "is not a field of a segment"))
        elif name == "rule":
            if value is not None and not isinstance(value, dict):
                errors.append(_err(name, "must be a JSON object (a rule tree) or null"))
        elif value is not None and not isinstance(value, str):
            errors.append(_err(name, "must be a string"))
        elif isinstance(value, str) and "\x00" in value:
            errors.append(_err(name, "contains a NUL character"))
        elif name in TEXT_MAX and value is not None and len(value) > TEXT_MAX[name]:
            errors.append(_err(name, f"is longer than {TEXT_MAX[name]} characters"))
    if errors:
        raise _refused(errors)
    if "rule" in body:
        body["rule"] = _plain_numbers(body["rule"])
    return body


def _save(action):
    """Run a write of the services; their refusals as the API answers them."""
    try:
        return action()
    except versioning.StaleRecord:
        raise
    except DomainError as exc:
        raise _refused(_problems(exc)) from exc
    except DBAPIError as exc:
        # A name another request stored at the same moment (the unique constraint).
        if not is_key_race(exc):
            raise
        db.session.rollback()
        raise ApiError(409, "A segment with this name was stored meanwhile.") from exc


def _commit() -> None:
    try:
        db.session.commit()
    except DBAPIError as exc:
        if not is_key_race(exc):
            raise
        db.session.rollback()
        raise ApiError(409, "A segment with this name was stored meanwhile.") from exc


def _codes(body: dict) -> list[str]:
    """The `codes` of a members change: a non-empty list of partner codes."""
    errors = [_err(k, "is not a field of a members change") for k in body if k != "codes"]
    codes = body.get("codes")
    if not isinstance(codes, list) or not codes:
        errors.append(_err("codes", "must be a non-empty list of partner codes"))
    elif len(codes) > services.MAX_CODES:
        errors.append(_err("codes", f"at most {services.MAX_CODES} codes at once"))
    else:
        for i, code in enumerate(codes):
            if not isinstance(code, str) or not code.strip():
                errors.append(_err(f"codes[{i}]", "must be a non-empty string"))
            elif "\x00" in code or len(code) > CODE_MAX:
                errors.append(_err(f"codes[{i}]", f"is not a partner code {code[:40]!r}"))
    if errors:
        raise _refused(errors[:20], "The members are not changed")
    return [c.strip() for c in codes]


def _page_args(listing: _Listing):
    args = list_filter(listing)(request.args)
    if args.problems:
        raise ApiError(400, args.problems[0])
    return args, min(args.per_page, MAX_PER_PAGE), wanted(args)


def _next_url(args, per_page: int, total: int, given: dict) -> str | None:
    if args.page * per_page >= total:
        return None
    return url_for(
        request.endpoint, **request.view_args, **given, page=args.page + 1, per_page=per_page
    )


# --- the routes ---------------------------------------------------------------------------


@bp.route("/segments", methods=["GET"])
def segments_index():
    """A page of segments, by id."""
    args, per_page, given = _page_args(SEGMENT_LIST)
    stmt = select(Segment)
    if "kind" in given:
        stmt = stmt.where(Segment.kind == given["kind"])
    total = db.session.execute(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    ).scalar_one()
    page = list(
        db.session.execute(
            stmt.order_by(Segment.id).limit(per_page).offset((args.page - 1) * per_page)
        ).scalars()
    )
    raw = {name: request.args[name] for name in given}
    return _json(
        {
            "items": _items(current_user, page, count_dynamic=False),
            "page": args.page,
            "per_page": per_page,
            "total": total,
            "next": _next_url(args, per_page, total, raw),
        }
    )


@bp.route("/segments/<int:segment_id>", methods=["GET"])
def segments_detail(segment_id: int):
    """One segment with its rule and the number of members the user may see."""
    segment = _segment(segment_id)
    return _with_etag(_json(_item(current_user, segment)), segment)


@bp.route("/segments", methods=["POST"])
def segments_create():
    """Create a segment (its rule checked; a periodic one is refreshed at once)."""
    if not may(current_user, "segments.create"):
        raise ApiError(403, f"Your role ({current_user.role}) may not create segments.")
    body = _fields(json_body(), FIELDS)
    missing = [_err(name, "is required") for name in ("name", "kind") if body.get(name) is None]
    if missing:
        raise _refused(missing)
    _name_taken(body["name"].strip())
    segment = _save(
        lambda: services.create_segment(
            current_user,
            body["name"],
            body["kind"],
            body.get("rule"),
            schedule=body.get("schedule"),
            description=body.get("description") or "",
        )
    )
    item = _item(current_user, segment)
    _commit()
    response = _with_etag(_json(item, 201), segment)
    response.headers["Location"] = url_for("api.segments_detail", segment_id=segment.id)
    return response


@bp.route("/segments/<int:segment_id>", methods=["PATCH"])
def segments_update(segment_id: int):
    """Change a segment's name, rule, schedule or description (not its kind)."""
    body = json_body()
    segment = _editable(segment_id)
    version, stale_status = wanted_version(body, request.if_match)
    body = _fields(body, FIELDS)
    if "kind" in body and body["kind"] != segment.kind:
        raise _refused([_err("kind", "the kind of a segment cannot be changed")])
    merged = {
        "name": segment.name,
        "rule": segment.rule,
        "schedule": segment.schedule,
        "description": segment.description,
    }
    merged.update({k: v for k, v in body.items() if k != "kind"})
    _name_taken(merged["name"].strip() if isinstance(merged["name"], str) else None, segment.id)
    try:
        _save(
            lambda: services.update_segment(
                current_user,
                segment,
                merged["name"],
                merged["rule"],
                schedule=merged["schedule"],
                description=merged["description"] or "",
                version=version,
            )
        )
    except versioning.StaleRecord as exc:
        raise stale_answer(SEGMENTS, exc, stale_status) from None
    item = _item(current_user, segment)
    _commit()
    return _with_etag(_json(item), segment)


@bp.route("/segments/<int:segment_id>", methods=["DELETE"])
def segments_delete(segment_id: int):
    """Delete a segment (If-Match: only the version read)."""
    segment = _editable(segment_id)
    version, _status = wanted_version({}, request.if_match)
    try:
        versioning.check(segment, version)
    except versioning.StaleRecord as exc:
        raise stale_answer(SEGMENTS, exc, 412) from None
    services.delete_segment(current_user, segment)
    db.session.commit()
    return "", 204


@bp.route("/segments/<int:segment_id>/members", methods=["GET"])
def segments_members(segment_id: int):
    """A page of the segment's members that the user may see (code, name), by code."""
    segment = _segment(segment_id)
    args, per_page, given = _page_args(MEMBER_LIST)
    as_of: date | None = given.get("as_of")
    if as_of is not None and segment.kind != "dynamic":
        raise ApiError(
            400,
            "as_of applies to a dynamic segment only: a periodic or manual segment's "
            "members are the stored ones.",
        )
    try:
        ids = members_select(segment, as_of=as_of, user=current_user).subquery()
    except RuleError as exc:
        raise _refused(_problems(exc), "The segment's rule no longer holds") from None
    # A segment of products lists its products' SKUs as the codes.
    model, code = (Product, Product.sku) if segment.of == "products" else (Partner, Partner.code)
    stmt = select(code, model.name).where(model.id.in_(select(ids.c.id)))
    total = db.session.execute(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    ).scalar_one()
    rows = db.session.execute(
        stmt.order_by(code).limit(per_page).offset((args.page - 1) * per_page)
    ).all()
    raw = {name: request.args[name] for name in given}
    return _json(
        {
            "items": [{"code": code, "name": name} for code, name in rows],
            "page": args.page,
            "per_page": per_page,
            "total": total,
            "next": _next_url(args, per_page, total, raw),
        }
    )


@bp.route("/segments/count", methods=["POST"])
@viewer_may_post  # it only reads: every role that reads segments may count
def segments_count():
    """How many partners the user may see match a rule (nothing is saved)."""
    body = json_body()
    errors = [_err(k, "is not a field of a count") for k in body if k not in ("rule", "as_of")]
    rule, as_of = _plain_numbers(body.get("rule")), None
    if not isinstance(rule, dict):
        errors.append(_err("rule", "must be a JSON object (a rule tree)"))
    if body.get("as_of") is not None:
        try:
            if not isinstance(body["as_of"], str):
                raise BadValue("must be a date YYYY-MM-DD")
            as_of = parse_date(body["as_of"])
        except BadValue as exc:
            errors.append(_err("as_of", str(exc)))
    if errors:
        raise _refused(errors, "The rule is not counted")
    try:
        stmt = matching(rule, "partners", as_of)
    except RuleError as exc:
        raise _refused(_problems(exc), "The rule is not counted") from None
    clause = rows_clause(current_user, Partner)
    if clause is not None:
        stmt = stmt.where(clause)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    return _json({"count": total})


@bp.route("/segments/<int:segment_id>/refresh", methods=["POST"])
def segments_refresh(segment_id: int):
    """Recompute a periodic segment now: who entered and who left."""
    segment = _editable(segment_id)
    record = _save(lambda: services.refresh(segment))
    answer = _refresh_json(record)
    db.session.commit()
    return _json(answer)


def _change_members(segment_id: int, change, key: str):
    segment = _editable(segment_id)
    codes = _codes(json_body())
    ids, unknown = _save(lambda: services.chosen_ids(current_user, segment, codes, []))
    changed = _save(lambda: change(current_user, segment, ids))
    db.session.commit()
    return _json({key: changed, "unknown": unknown})


@bp.route("/segments/<int:segment_id>/members/add", methods=["POST"])
def segments_add_members(segment_id: int):
    """Add partners to a manual segment by their codes."""
    return _change_members(segment_id, services.add_members, "added")


@bp.route("/segments/<int:segment_id>/members/remove", methods=["POST"])
def segments_remove_members(segment_id: int):
    """Remove partners from a manual segment by their codes."""
    return _change_members(segment_id, services.remove_members, "removed")


# --- the OpenAPI description --------------------------------------------------------------

RULE_TEXT = (
    'A rule tree (README, «Segment rules (JSON)»): a group `{"all": [part, …]}` (AND) or '
    '`{"any": [part, …]}` (OR), `{"not": part}`, or a condition `{"type": …, its '
    "parameters}`; at most 8 levels and 100 parts. An unknown type, parameter or value is "
    "refused (422) with the path of the part at fault (`rule.all[1].not.cities`). Values are "
    "only ever bound parameters of the query, never SQL."
)


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def _page_schema(item: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "next"],
        "properties": {
            "items": {"type": "array", "items": openapi.ref(item)},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "total": {"type": "integer", "minimum": 0},
            "next": {"type": ["string", "null"], "description": "The next page's URL, if any."},
        },
    }


def _condition_list() -> str:
    """The registered condition types with their parameters, for the rule's description."""
    parts = []
    for key, ctype in sorted(condition_types().items()):
        if ctype.of != "partners":
            continue
        params = ", ".join(
            f"{p.name} ({p.kind}{'' if p.required else ', optional'})" for p in ctype.params
        )
        parts.append(f"`{key}`" + (f": {params}" if params else ""))
    return "; ".join(parts)


class SegmentsApi(openapi.Described):
    """The segments' routes as the OpenAPI document describes them."""

    name = "segments"
    title = "segment"

    def schemas(self) -> dict:
        ref = openapi.ref
        input_fields = {
            "name": {"type": "string", "maxLength": services.NAME_MAX, "description": "Unique."},
            "kind": {
                "type": "string",
                "enum": list(KINDS),
                "description": "dynamic: only the rule is stored, members are computed when "
                "used; periodic: members stored and recomputed on the schedule (refreshed at "
                "once when created or when its rule changes); manual: members added and "
                "removed by hand (a rule, if given, fills it once).",
            },
            "rule": {
                **_nullable(ref("SegmentRule")),
                "description": "Required for dynamic and periodic segments.",
            },
            "schedule": {
                "type": ["string", "null"],
                "enum": [*SCHEDULES, None],
                "description": "Required for a periodic segment; ignored for the others.",
            },
            "description": {"type": ["string", "null"], "maxLength": services.DESCRIPTION_MAX},
        }
        version = {
            "type": "integer",
            "minimum": 1,
            "description": "The segment's version, also its ETag: send it back to update safely.",
        }
        shown = {
            "id": {"type": "integer", "readOnly": True},
            "version": {**version, "readOnly": True},
            "name": {"type": "string"},
            "kind": {"type": "string", "enum": list(KINDS)},
            "of": {
                "type": "string",
                "enum": ["partners", "products"],
                "readOnly": True,
                "description": "What the segment holds (segments of products are made on the "
                "pages; their members' codes are SKUs).",
            },
            "schedule": {"type": ["string", "null"], "enum": [*SCHEDULES, None]},
            "description": {"type": ["string", "null"]},
            "rule": _nullable(ref("SegmentRule")),
            "owner": {
                "type": ["string", "null"],
                "description": "E-mail of the user who created it.",
            },
            "created_at": {"type": "string", "format": "date-time"},
            "refreshed_at": {"type": ["string", "null"], "format": "date-time"},
            "members": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "How many members you may see. A dynamic segment's is "
                "computed when one segment is read, and null in lists.",
            },
            "last_refresh": _nullable(ref("SegmentRefresh")),
            "problem": {
                "type": ["string", "null"],
                "description": "Why a dynamic segment's rule no longer gives members (a "
                "segment it names was deleted).",
            },
        }
        return {
            "SegmentRule": {
                "type": "object",
                "minProperties": 1,
                "description": RULE_TEXT + " Condition types: " + _condition_list() + ".",
                "properties": {
                    "all": {"type": "array", "minItems": 1, "items": ref("SegmentRule")},
                    "any": {"type": "array", "minItems": 1, "items": ref("SegmentRule")},
                    "not": ref("SegmentRule"),
                    "type": {
                        "type": "string",
                        "enum": sorted(
                            k for k, t in condition_types().items() if t.of == "partners"
                        ),
                        "description": "A condition's type; its parameters sit beside it.",
                    },
                },
            },
            "Segment": {"type": "object", "required": list(shown), "properties": shown},
            "SegmentCreate": {
                "type": "object",
                "required": ["name", "kind"],
                "additionalProperties": False,
                "properties": input_fields,
            },
            "SegmentUpdate": {
                "type": "object",
                "additionalProperties": False,
                "description": "Only the fields to change; `kind` may be sent with its current "
                "value only. Send `version` (or the ETag in `If-Match`) as you read the segment, "
                "and the update is refused (409; 412 for If-Match) with the changes since when "
                "it changed meanwhile.",
                "properties": {**input_fields, "version": version},
            },
            "SegmentPage": _page_schema("Segment"),
            "SegmentRefresh": {
                "type": "object",
                "required": ["id", "at", "members", "entered", "left"],
                "properties": {
                    "id": {"type": "integer"},
                    "at": {"type": "string", "format": "date-time"},
                    "members": {"type": "integer", "minimum": 0},
                    "entered": {"type": "integer", "minimum": 0},
                    "left": {"type": "integer", "minimum": 0},
                },
            },
            "SegmentMember": {
                "type": "object",
                "required": ["code", "name"],
                "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
            },
            "SegmentMemberPage": _page_schema("SegmentMember"),
            "SegmentCount": {
                "type": "object",
                "required": ["rule"],
                "additionalProperties": False,
                "properties": {
                    "rule": ref("SegmentRule"),
                    "as_of": {
                        "type": ["string", "null"],
                        "format": "date",
                        "description": "The date the rule is evaluated on (default today).",
                    },
                },
            },
            "SegmentCountResult": {
                "type": "object",
                "required": ["count"],
                "properties": {
                    "count": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "Partners matching the rule that you may see.",
                    }
                },
            },
            "SegmentCodes": {
                "type": "object",
                "required": ["codes"],
                "additionalProperties": False,
                "properties": {
                    "codes": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": services.MAX_CODES,
                        "items": {"type": "string", "maxLength": CODE_MAX},
                        "description": "Partner codes (a merged partner's code names its "
                        "survivor).",
                    }
                },
            },
            "SegmentMembersAdded": {
                "type": "object",
                "required": ["added", "unknown"],
                "properties": {
                    "added": {"type": "integer", "minimum": 0},
                    "unknown": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Codes of no partner you may see (nothing done).",
                    },
                },
            },
            "SegmentMembersRemoved": {
                "type": "object",
                "required": ["removed", "unknown"],
                "properties": {
                    "removed": {"type": "integer", "minimum": 0},
                    "unknown": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Codes of no partner you may see (nothing done).",
                    },
                },
            },
        }

    def operation(self, verb: str, rule) -> dict:
        op = {
            "operationId": f"segments_{verb}",
            "tags": [self.name],
            "parameters": openapi.path_parameters(rule),
            "responses": {},
        }
        resp = op["responses"]
        paging = [
            {"$ref": "#/components/parameters/page"},
            {"$ref": "#/components/parameters/per_page"},
        ]
        summary, body, ok, errors = OPERATION_TEXTS[verb]
        op["summary"] = summary
        if body:
            op["requestBody"] = openapi.json_request(body)
        if verb == "index":
            op["parameters"] += [
                *paging,
                {
                    "name": "kind",
                    "in": "query",
                    "required": False,
                    "description": "Only the segments of this kind.",
                    "schema": {"type": "string", "enum": list(KINDS)},
                },
            ]
        elif verb == "members":
            op["parameters"] += [
                *paging,
                {
                    "name": "as_of",
                    "in": "query",
                    "required": False,
                    "description": "A dynamic segment's members as of this date (default "
                    "today); refused for the other kinds, whose members are stored.",
                    "schema": {"type": "string", "format": "date"},
                },
            ]
        code, schema, text = ok
        if schema is None:
            resp[code] = {"description": text}
        else:
            resp[code] = openapi.json_response(schema, text)
        if verb == "create":
            resp[code]["headers"] = {
                "Location": {"schema": {"type": "string"}, "description": "Its URL."}
            }
        resp.update(openapi.error_responses(*errors))
        return op


# verb → (summary, request schema, (status, answer schema, text), error statuses)
OPERATION_TEXTS = {
    "index": (
        "A page of segments, by id.",
        None,
        ("200", "SegmentPage", "The page."),
        ("400", "401"),
    ),
    "detail": (
        "One segment, with the number of members you may see.",
        None,
        ("200", "Segment", "The segment."),
        ("401", "404"),
    ),
    "create": (
        "Create a segment (admins, managers; 409 when the name is taken).",
        "SegmentCreate",
        ("201", "Segment", "The segment as stored."),
        ("400", "401", "403", "409", "422"),
    ),
    "update": (
        "Change a segment's name, rule, schedule or description (a manager: his own).",
        "SegmentUpdate",
        ("200", "Segment", "The segment as stored."),
        ("400", "401", "403", "404", "409", "412", "422"),
    ),
    "delete": (
        "Delete a segment (with If-Match: only if unchanged since).",
        None,
        ("204", None, "Deleted."),
        ("401", "403", "404", "412"),
    ),
    "members": (
        "A page of a segment's members that you may see, by code.",
        None,
        ("200", "SegmentMemberPage", "The page."),
        ("400", "401", "404", "422"),
    ),
    "count": (
        "Count the partners you may see that a rule matches, without saving anything.",
        "SegmentCount",
        ("200", "SegmentCountResult", "The count."),
        ("400", "401", "422"),
    ),
    "refresh": (
        "Recompute a periodic segment now; who entered and left is recorded.",
        None,
        ("200", "SegmentRefresh", "The refresh."),
        ("401", "403", "404", "422"),
    ),
    "add_members": (
        "Add partners to a manual segment by their codes.",
        "SegmentCodes",
        ("200", "SegmentMembersAdded", "How many were added."),
        ("400", "401", "403", "404", "422"),
    ),
    "remove_members": (
        "Remove partners from a manual segment by their codes.",
        "SegmentCodes",
        ("200", "SegmentMembersRemoved", "How many were removed."),
        ("400", "401", "403", "404", "422"),
    ),
}

SEGMENTS = SegmentsApi()
for _verb in OPERATION_TEXTS:
    OPERATIONS[f"api.segments_{_verb}"] = (SEGMENTS, _verb)
