"""The OpenAPI 3.1 document of the API, made from the URL map (every route under the
blueprint), the resource registry and the import kinds' column definitions: a new route, column
or rule shows up here without anyone writing it down."""

from __future__ import annotations

import re

from crm.api.fields import schema
from crm.api.queries import DEFAULT_PER_PAGE, MAX_PER_PAGE, Resource, SalesDocuments
from crm.partners.models import PARTNER_KINDS, PARTNER_ROLES

REF = "#/components/schemas/"
# Words for the columns whose meaning their type does not tell (spec/data-exchange.md).
DESCRIPTIONS = {
    ("partners", "kind"): f"One of {', '.join(PARTNER_KINDS)} (default {PARTNER_KINDS[0]}).",
    ("partners", "roles"): f"`;`-separated of {', '.join(PARTNER_ROLES)} (default client).",
    ("partners", "inn"): "Tax id (digits).",
    ("partners", "email"): "Main e-mail; a new one becomes main, the old one stays.",
    ("partners", "phone"): "Main phone; a new one becomes main, the old one stays.",
    ("partners", "manager"): "E-mail of the responsible user (created inactive when unknown).",
    ("partners", "created_on"): "The date the partner appeared (default: the day it is created).",
    ("sales", "line_no"): "Number of the line (default: its position in `lines`, from 1).",
    ("sales", "partner_code"): "A partner's code.",
    ("sales", "sku"): "A product's sku.",
    ("sales", "amount"): "Line revenue after discounts; negative with quantity for a return.",
    ("sales", "cost"): "Line cost; gross profit = amount − cost.",
    ("sales", "manager"): "E-mail of the responsible user.",
    ("sales", "due_date"): "Payment due date (default: the document date).",
    ("sales", "status"): "`shipped`, `ordered`, `paid` or `cancelled` (default `shipped`); a "
    "change is notified to the client when the order status notification is on.",
    ("payments", "doc_no"): "The document paid; without it the payment is allocated to the "
    "partner's open documents oldest due date first.",
    ("stock", "warehouse"): "A warehouse's name (created on first use).",
    ("deals", "deal_no"): "The deal's number, unique; left out on create, the CRM numbers it.",
    ("deals", "partner_code"): "A partner's code.",
    ("deals", "kind"): "A deal kind's name. It cannot be changed.",
    ("deals", "stage"): "A stage of the kind. A change moves the deal, obeying the kind's "
    "process (a process kind's deal goes to the next stage only).",
    ("deals", "status"): "`open`, `won` or `lost`; a change wins, loses or reopens the deal.",
    ("deals", "amount"): "Expected amount (won: the amount won).",
    ("deals", "created_on"): "The day the deal was opened (default: today); it cannot change.",
    ("deals", "expected_close"): "Required for an open deal.",
    ("deals", "closed_on"): "The day it was won or lost (default: today).",
    ("deals", "manager"): "E-mail of the responsible user (default: who creates it).",
    ("deals", "loss_reason"): "The name of an existing loss reason; required to mark it lost.",
    ("deals", "source"): "Where the deal came from.",
}
READ_ONLY = {
    "id": {"type": "integer", "description": "The item's id in the CRM."},
    "version": {
        "type": "integer",
        "minimum": 1,
        "description": "The item's version, also its ETag: send it back to update safely.",
    },
    "total": {
        "type": "string",
        "pattern": r"^-?\d+\.\d{2}$",
        "description": "Σ of the lines' amounts.",
    },
}


def _name(res: Resource, suffix: str = "") -> str:
    return "".join(w.capitalize() for w in res.title.split()) + suffix


def _ref(name: str) -> dict:
    return {"$ref": REF + name}


class Described:
    """A part of the API that is not an import kind's rows (segments, crm/api/segments.py):
    it writes its own operations and schemas with the helpers below, and its routes are in
    the views' OPERATIONS like the resources' ones, so the document still lists every route."""

    name: str  # its tag

    def operation(self, verb: str, rule) -> dict:
        raise NotImplementedError

    def schemas(self) -> dict:
        raise NotImplementedError


ERROR_RESPONSES = {
    "400": "BadRequest",
    "401": "Unauthorized",
    "403": "Forbidden",
    "404": "NotFound",
    "409": "Conflict",
    "412": "PreconditionFailed",
    "422": "Invalid",
}


def ref(name: str) -> dict:
    """A reference to a schema of the document."""
    return _ref(name)


def json_response(schema_name: str, text: str) -> dict:
    return {"description": text, "content": {"application/json": {"schema": _ref(schema_name)}}}


def json_request(schema_name: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema_name)}}}


def error_responses(*codes: str) -> dict:
    """The shared error answers (components/responses) of these status codes."""
    return {code: {"$ref": f"#/components/responses/{ERROR_RESPONSES[code]}"} for code in codes}


def _props(res: Resource, fields, for_input: bool) -> dict:
    props = {}
    for col in fields:
        prop = schema(col, for_input=for_input)
        if (res.kind_name, col.name) in DESCRIPTIONS:
            prop["description"] = DESCRIPTIONS[(res.kind_name, col.name)] + (
                " " + prop["description"] if "description" in prop else ""
            )
        if (res.kind_name, col.name) == ("partners", "kind"):
            prop["enum"] = [*PARTNER_KINDS, *([None] if for_input else [])]
        props[col.name] = prop
    return props


def _schemas(res: Resource) -> dict:
    """The item as shown, the object to create, the fields to update, and a page of items."""
    name = _name(res)
    sales = isinstance(res, SalesDocuments)
    # A payment's id comes first; a document's total after its fields, before its lines.
    shown = {} if sales else {k: {**READ_ONLY[k], "readOnly": True} for k in res.read_only}
    shown.update(_props(res, res.fields, False))
    given = {
        k: {**READ_ONLY[k], "readOnly": True, "description": "Ignored when sent."}
        for k in res.read_only
    }
    given.update(_props(res, res.fields, True))
    optional = getattr(res, "create_defaults", ())  # required in a file, defaulted here
    required = [c.name for c in res.fields if c.required and c.name not in optional]
    found = {}
    if sales:
        line_required = [c.name for c in res.line_fields if c.required]
        found[f"{name}Line"] = {
            "type": "object",
            "required": [c.name for c in res.line_fields],
            "properties": _props(res, res.line_fields, False),
        }
        found[f"{name}LineInput"] = {
            "type": "object",
            "required": line_required,
            "additionalProperties": False,
            "properties": _props(res, res.line_fields, True),
        }
        shown["total"] = {**READ_ONLY["total"], "readOnly": True}
        shown["lines"] = {"type": "array", "items": _ref(f"{name}Line")}
        given["lines"] = {"type": "array", "minItems": 1, "items": _ref(f"{name}LineInput")}
        required.append("lines")
    found[name] = {"type": "object", "required": list(shown), "properties": shown}
    found[f"{name}Create"] = {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": given,
    }
    if res.updatable:
        note = "Only the fields to change. Key fields may be sent with their current value only."
        if sales:
            note += " `lines`, when sent, are the document's lines from now on: lines not in it "
            note += "are removed. Without `lines` the stored lines stay."
        changes = given
        if res.versioned:
            note += (
                " Send `version` (or the ETag in `If-Match`) as you read the item, and the "
                "update is refused (409; 412 for If-Match) with the changes since when the "
                "item changed meanwhile; without it the fields apply to the item as it is."
            )
            changes = {
                **given,
                "version": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "The ETag of the item as you read it.",
                },
            }
        found[f"{name}Update"] = {
            "type": "object",
            "additionalProperties": False,
            "properties": changes,
            "description": note,
        }
    found[f"{name}Page"] = {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "next"],
        "properties": {
            "items": {"type": "array", "items": _ref(name)},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "total": {"type": "integer", "minimum": 0},
            "next": {"type": ["string", "null"], "description": "The next page's URL, if any."},
        },
    }
    return found


def _error_schemas() -> dict:
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string"},
                "conflict": {
                    "type": "object",
                    "description": "A stale update: `version` now, `your_version`, and "
                    "`changes` since (`at`, `by`, `summary`, `fields`: {field: [old, new]}).",
                },
            },
        },
        "ValidationErrors": {
            "type": "object",
            "required": ["error", "errors"],
            "properties": {
                "error": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {
                            "field": {
                                "type": ["string", "null"],
                                "description": "The field (`lines[0].sku` for a line's); null "
                                "for a problem of the whole object.",
                            },
                            "message": {
                                "type": "string",
                                "description": "The file import's message for the same value.",
                            },
                        },
                    },
                },
            },
        },
    }


def _responses() -> dict:
    def error(text, ref="Error", headers=None):
        found = {"description": text, "content": {"application/json": {"schema": _ref(ref)}}}
        if headers:
            found["headers"] = headers
        return found

    return {
        "BadRequest": error("Not a JSON object, or a bad page or filter."),
        "Unauthorized": error(
            "No bearer token, or one that is not valid, revoked, or of a deactivated account.",
            headers={
                "WWW-Authenticate": {
                    "schema": {"type": "string"},
                    "description": 'Bearer realm="crm"',
                }
            },
        ),
        "Forbidden": error("The token's user may not do this (viewers and marketers only read)."),
        "NotFound": error("No such item, or not one the token's user may see."),
        "Conflict": error(
            "An item with this key exists, or (update) the item changed since "
            "the `version` sent: `conflict` lists the changes."
        ),
        "PreconditionFailed": error(
            "The item changed since the version in If-Match: `conflict` lists the changes."
        ),
        "Invalid": error(
            "The object breaks the import's rules; nothing is stored.", "ValidationErrors"
        ),
    }


def path_parameters(rule) -> list[dict]:
    found = []
    for conv, name in re.findall(r"<(?:(\w+):)?(\w+)>", rule.rule):
        param = {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer" if conv == "int" else "string"},
        }
        if conv == "path":
            param["description"] = "URL-encoded; the last segment may contain `/`."
        found.append(param)
    return found


def _operation(res: Resource | Described | None, verb: str, rule) -> dict:
    if res is None:
        return {
            "operationId": "openapi",
            "summary": "This document.",
            "responses": {
                "200": {
                    "description": "OpenAPI 3.1",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "401": {"$ref": "#/components/responses/Unauthorized"},
            },
        }
    if isinstance(res, Described):
        return res.operation(verb, rule)
    name = _name(res)
    op = {
        "operationId": f"{res.endpoint}_{verb}",
        "tags": [res.name],
        "parameters": path_parameters(rule),
        "responses": {},
    }
    resp = op["responses"]

    def ok(code, schema_name, text):
        resp[code] = {
            "description": text,
            "content": {"application/json": {"schema": _ref(schema_name)}},
        }

    def refs(*codes):
        resp.update(error_responses(*codes))

    def body(schema_name):
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(schema_name)}},
        }

    if verb == "index":
        op["summary"] = f"A page of {res.name}, in key order."
        op["parameters"] += [
            {"$ref": "#/components/parameters/page"},
            {"$ref": "#/components/parameters/per_page"},
        ]
        for flt in res.filters:
            is_date = flt.parse.__name__ == "day"
            op["parameters"].append(
                {
                    "name": flt.name,
                    "in": "query",
                    "required": False,
                    "description": f"Only the {res.name} with this {flt.name}.",
                    "schema": {"type": "string", **({"format": "date"} if is_date else {})},
                }
            )
        ok("200", f"{name}Page", "The page.")
        refs("400", "401")
    elif verb == "detail":
        op["summary"] = f"One {res.title}."
        ok("200", name, f"The {res.title}.")
        refs("401", "404")
    elif verb == "create":
        op["summary"] = f"Create a {res.title}."
        body(f"{name}Create")
        ok("201", name, f"The {res.title} as stored.")
        resp["201"]["headers"] = {
            "Location": {"schema": {"type": "string"}, "description": "Its URL."}
        }
        refs("400", "401", "403", "409", "422")
    elif verb == "update":
        op["summary"] = f"Change fields of a {res.title}."
        body(f"{name}Update")
        ok("200", name, f"The {res.title} as stored.")
        refs("400", "401", "403", "404", *(("409", "412") if res.versioned else ()), "422")
    return op


def openapi_path(rule_text: str, prefix: str) -> str:
    """A Flask rule as an OpenAPI path under the server URL: /x/<path:code> → /x/{code}."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule_text[len(prefix) :])


INFO = """The CRM's data exchange over HTTP: the same objects, fields and checks as the CSV/XLSX
import (spec/data-exchange.md), one object per row.

* **Sign-in**: a personal token from your account page, as `Authorization: Bearer <token>`.
  Cookies never sign an API call. Viewers and marketers read; managers read and write their own
  partners' data; admins everything (products and stock are written by admins).
* **Fields**: named as the import's columns. Dates `YYYY-MM-DD`; numbers come as exact decimal
  strings (`"1234.50"`) and may be sent as JSON numbers or strings. An empty field is `null`.
  A field sent as `null` is an empty cell of the import and does what an empty cell does: most
  fields take their default; a partner's manager, e-mail and phone keep their stored value.
* **Writes** go through the import's checks: a refused object gives 422 with the import's
  message for each field, and nothing is stored. `PATCH` merges the fields sent over the stored
  ones. Payments are only added.
* **Deals** read and write the columns of `deals.csv` (plus `title` and `description`), but are
  written by the deals' own rules, as on their pages: a stage change obeys the kind's process,
  a status change wins, loses (with a `loss_reason`) or reopens the deal, and only the
  responsible manager or an admin changes the other fields. Managers see the deals they are
  responsible for or take part in.
* **Segments** (`/segments`) are written by the segments' own rules, as on their pages: a
  segment's `rule` is the JSON tree of the README's «Segment rules (JSON)», checked part by
  part (a bad part is a 422 naming it, `rule.all[1].not.cities`). Everyone reads segments; a
  segment's members and counts are only the partners you may see. Admins and managers create
  segments; a manager changes, refreshes, fills and deletes only his own.
* **Lists** are paged: `?page=1&per_page=100` (at most 500); `next` is the next page's URL.
* **Errors** are JSON: `{"error": "..."}`, plus `errors` for 422.
"""


def document(app, operations: dict) -> dict:
    """The OpenAPI document for every route of the API blueprint in `app`."""
    prefix = app.blueprints["api"].url_prefix
    resources = {res.name: res for res, _ in operations.values() if res is not None}
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint not in operations:
            continue
        res, verb = operations[rule.endpoint]
        item = paths.setdefault(openapi_path(rule.rule, prefix), {})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            item[method.lower()] = _operation(res, verb, rule)
    schemas = _error_schemas()
    for res in resources.values():
        schemas.update(res.schemas() if isinstance(res, Described) else _schemas(res))
    return {
        "openapi": "3.1.0",
        "info": {"title": "CRM API", "version": "1", "description": INFO},
        "servers": [{"url": prefix}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": name} for name in resources],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token (account page).",
                }
            },
            "parameters": {
                "page": {
                    "name": "page",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "default": 1},
                },
                "per_page": {
                    "name": "per_page",
                    "in": "query",
                    "required": False,
                    "description": f"Items per page; more than {MAX_PER_PAGE} gives "
                    f"{MAX_PER_PAGE}.",
                    "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_PER_PAGE},
                },
            },
            "schemas": schemas,
            "responses": _responses(),
        },
    }
