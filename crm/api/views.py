"""The JSON API's routes: list, get, create and update for each resource of
queries.RESOURCES, and the OpenAPI document. The routes are made from the registry, and the
OpenAPI document from the registry and the URL map, so the two cannot part."""

from __future__ import annotations

import json
from decimal import Decimal

from flask import current_app, g, request, url_for
from flask_login import current_user

from crm.access import SAFE_METHODS
from crm.api import bp, filters, openapi, services
from crm.api.filters import list_filter
from crm.api.queries import MAX_PER_PAGE, RESOURCES, Resource, key_text
from crm.api.services import ApiError
from crm.core.policy import may
from crm.extensions import db, login_manager

# endpoint → (resource, verb): what the OpenAPI document describes for each route.
OPERATIONS: dict[str, tuple[Resource | openapi.Described | None, str]] = {}


@bp.before_request
def _bearer_token_only():
    """Only a live bearer token signs an API call (never a session cookie: the API is exempt
    from CSRF); roles that only read are refused any write before the body is read (a POST
    that writes nothing is marked `viewer_may_post`, as for the app's own gate)."""
    if g.get("api_token") is None or not current_user.is_authenticated:
        return login_manager.unauthorized()
    view = current_app.view_functions.get(request.endpoint)
    reads = request.method in SAFE_METHODS or getattr(view, "crm_viewer_may_post", False)
    if not reads and not may(current_user, "api.write"):
        raise ApiError(
            403, f"Your role ({current_user.role}) may read through the API but not write."
        )
    return None


def _json(data, status: int = 200):
    """JSON with the fields in the import's column order (jsonify would sort them)."""
    return current_app.response_class(
        json.dumps(data, ensure_ascii=False) + "\n", status, mimetype="application/json"
    )


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    db.session.rollback()  # a refused write leaves nothing behind, whatever it flushed
    body = {"error": exc.message}
    if exc.errors is not None:
        body["errors"] = exc.errors
    body.update(exc.extra)
    response = _json(body, exc.status)
    response.headers.update(exc.headers)
    return response


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def json_body() -> dict:
    """The request's JSON object; numbers as Decimal so that money stays exact."""
    if request.mimetype != "application/json":
        raise ApiError(400, "Send the body as JSON with 'Content-Type: application/json'.")
    try:
        body = json.loads(request.get_data(), parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"The body is not valid JSON: {exc}.") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object.")
    return body


def _not_found(res: Resource, key: dict) -> ApiError:
    return ApiError(404, f"There is no {res.title} with {key_text(key)}.")


def _make_views(res: Resource) -> dict:
    def index():
        args = list_filter(res)(request.args)
        if args.problems:
            raise ApiError(400, args.problems[0])
        page, per_page = args.page, min(args.per_page, MAX_PER_PAGE)
        wanted = filters.wanted(args)
        raw = {name: request.args[name] for name in wanted}
        items, total = res.page(current_user, wanted, page, per_page)
        nxt = None
        if page * per_page < total:
            nxt = url_for(request.endpoint, **raw, page=page + 1, per_page=per_page)
        return _json(
            {"items": items, "page": page, "per_page": per_page, "total": total, "next": nxt}
        )

    def versioned(response, key: dict):
        """An item's version as its ETag: send it back in If-Match to update safely."""
        tag = services.etag(res.record(key))
        if tag is not None:
            response.set_etag(tag)
        return response

    def detail(**key):
        item = res.get(current_user, key)
        if item is None:
            raise _not_found(res, key)
        return versioned(_json(item), key)

    def create():
        services.check_may_write(res, current_user)
        item, key = services.create(res, current_user, json_body())
        response = _json(item, 201)
        response.headers["Location"] = url_for(f"api.{res.endpoint}_detail", **key)
        return response

    def update(**key):
        services.check_may_write(res, current_user)
        item = services.update(res, current_user, key, json_body(), request.if_match)
        if item is None:
            raise _not_found(res, key)
        return versioned(_json(item), key)

    index.__doc__ = f"A page of {res.name}."
    detail.__doc__ = f"One {res.title} by its key."
    create.__doc__ = f"Create a {res.title} (409 when the key exists)."
    update.__doc__ = f"Change some fields of a {res.title}."
    views = {"index": index, "detail": detail, "create": create}
    if res.updatable:
        views["update"] = update
    return views


def _register(res: Resource) -> None:
    key_rule = "/".join(f"<{res.converter(k)}:{k}>" for k in res.key)
    rules = {
        "index": ("", "GET"),
        "create": ("", "POST"),
        "detail": (f"/{key_rule}", "GET"),
        "update": (f"/{key_rule}", "PATCH"),
    }
    for verb, view in _make_views(res).items():
        suffix, method = rules[verb]
        endpoint = f"{res.endpoint}_{verb}"
        view.__name__ = endpoint
        bp.add_url_rule(f"/{res.name}{suffix}", endpoint, view, methods=[method])
        OPERATIONS[f"api.{endpoint}"] = (res, verb)


for _res in RESOURCES.values():
    _register(_res)


@bp.route("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 description of this API (a token is needed, as for every API call)."""
    return _json(openapi.document(current_app, OPERATIONS))


OPERATIONS["api.openapi_document"] = (None, "openapi")
