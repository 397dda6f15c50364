"""The API documentation as a page for people who are signed in: drawn on the server from the
same OpenAPI document that tools read at /api/v1/openapi.json (with a token), so the page never
disagrees with the API. No script, no CDN: a page of tables (CSP-clean, crm/core/security_headers).

The page's own words go through gettext (the api catalog); the descriptions inside the OpenAPI
document, like the API's JSON error messages, are for tools and their authors and stay English.
The page is outside /api/ on purpose: everything under /api/ signs in by bearer token only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import Blueprint, current_app
from markupsafe import Markup, escape

from crm.api import openapi
from crm.htmx import render

bp = Blueprint("api_docs", __name__, url_prefix="/api-docs")

METHOD_ORDER = ("get", "post", "put", "patch", "delete")


@dataclass
class Param:
    name: str
    where: str
    required: bool
    type: str
    description: str = ""


@dataclass
class Response:
    code: str
    description: str
    schema: str | None = None


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    anchor: str
    params: list[Param] = field(default_factory=list)
    body: str | None = None
    responses: list[Response] = field(default_factory=list)


@dataclass
class Prop:
    name: str
    type: str
    required: bool
    read_only: bool
    description: str
    rules: list[str]
    ref: str | None = None


@dataclass
class Schema:
    name: str
    description: str
    props: list[Prop]


def _ref_name(obj: dict | None) -> str | None:
    ref = (obj or {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else None


def _resolve(doc: dict, obj: dict) -> dict:
    """An object or the component its `$ref` points at (#/components/<kind>/<name>)."""
    ref = obj.get("$ref")
    if not ref:
        return obj
    found = doc
    for part in ref.lstrip("#/").split("/"):
        found = found[part]
    return found


def _type_text(schema: dict) -> tuple[str, str | None]:
    """A schema's type as people read it ("string | null", "array of PartnerLine") and the
    schema it refers to, if any (for a link)."""
    if name := _ref_name(schema):
        return name, name
    if "anyOf" in schema:  # "SegmentRule | null"
        parts = [_type_text(part) for part in schema["anyOf"]]
        return " | ".join(text for text, _ in parts), next((r for _, r in parts if r), None)
    if schema.get("type") == "array":
        inner, ref = _type_text(schema.get("items", {}))
        return f"{inner}[]", ref  # language-neutral: "PartnerLine[]"
    kind = schema.get("type", "object")
    text = " | ".join(kind) if isinstance(kind, list) else kind
    if schema.get("format"):
        text += f" ({schema['format']})"
    return text, None


def _rules(schema: dict) -> list[str]:
    """The constraints of a property, written as in the document (they are machine words)."""
    found = []
    for key in ("enum", "minimum", "maximum", "maxLength", "minItems", "pattern", "default"):
        if key in schema:
            value = schema[key]
            if key == "enum":
                value = ", ".join("null" if v is None else str(v) for v in value)
            found.append(f"{key}: {value}")
    return found


def operations(doc: dict) -> list[tuple[str, list[Operation]]]:
    """The endpoints grouped by their tag (resource), in the document's order."""
    groups: dict[str, list[Operation]] = {}
    for path, item in doc["paths"].items():
        for method in sorted(item, key=lambda m: METHOD_ORDER.index(m)):
            op = item[method]
            tag = (op.get("tags") or ["openapi"])[0]
            entry = Operation(
                method.upper(),
                path,
                op.get("summary", ""),
                anchor=op.get("operationId", f"{method}-{path}"),
            )
            for raw in op.get("parameters", []):
                p = _resolve(doc, raw)
                kind, _ref = _type_text(p.get("schema", {}))
                entry.params.append(
                    Param(
                        p["name"], p["in"], p.get("required", False), kind, p.get("description", "")
                    )
                )
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            entry.body = _ref_name(body.get("schema"))
            for code, raw in sorted(op.get("responses", {}).items()):
                r = _resolve(doc, raw)
                schema = r.get("content", {}).get("application/json", {}).get("schema")
                entry.responses.append(Response(code, r.get("description", ""), _ref_name(schema)))
            groups.setdefault(tag, []).append(entry)
    return list(groups.items())


def _prop_rows(schema: dict, prefix: str = "") -> list[Prop]:
    """The properties of an object schema as rows; an inline object inside (or an array of
    them) adds its own rows under the name `errors[].field`."""
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        kind, ref = _type_text(prop)
        rows.append(
            Prop(
                prefix + name,
                kind,
                name in required,
                bool(prop.get("readOnly")),
                prop.get("description", ""),
                _rules(prop),
                ref,
            )
        )
        if "properties" in prop:
            rows += _prop_rows(prop, f"{prefix}{name}.")
        elif "properties" in prop.get("items", {}):
            rows += _prop_rows(prop["items"], f"{prefix}{name}[].")
    return rows


def schemas(doc: dict) -> list[Schema]:
    return [
        Schema(name, schema.get("description", ""), _prop_rows(schema))
        for name, schema in doc["components"]["schemas"].items()
    ]


_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def inline(text: str) -> Markup:
    """The document's light Markdown (`code`, **bold**) as HTML; everything else escaped."""
    html = str(escape(text))
    html = _CODE.sub(r"<code>\1</code>", html)
    return Markup(_BOLD.sub(r"<strong>\1</strong>", html))


def blocks(text: str) -> list[tuple[str, list[Markup]]]:
    """The document's description as paragraphs and bullet lists: [("p"|"ul", [html, ...])]."""
    found: list[tuple[str, list[Markup]]] = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        items = re.split(r"(?m)^\* ", chunk)
        if chunk.startswith("* "):
            found.append(("ul", [inline(" ".join(i.split())) for i in items if i.strip()]))
        else:
            found.append(("p", [inline(" ".join(chunk.split()))]))
    return found


@bp.route("/")
def index():
    """The API's endpoints, parameters, request and response schemas, and how to sign in."""
    from crm.api.views import OPERATIONS

    doc = openapi.document(current_app, OPERATIONS)
    return render(
        "api/docs.html",
        doc=doc,
        info=blocks(doc["info"].get("description", "")),
        groups=operations(doc),
        schemas=schemas(doc),
        server=doc["servers"][0]["url"],
        md=inline,
    )
