"""The API's fields are the import's columns (spec/data-exchange.md): their types, how a stored
value is written out, and what JSON a request may send for them. Everything here is read off
the kinds' `Col` definitions, so the API, its OpenAPI document and the import cannot drift."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from crm.exchange import values
from crm.exchange.kind import Col, money, quantity

# A column's type, by the parser the import uses for it; anything else is text.
PARSERS = {money: "money", quantity: "quantity", values.whole: "integer", values.day: "date"}
PLACES = {"money": Decimal("0.01"), "quantity": Decimal("0.001")}


def col_type(col: Col) -> str:
    return PARSERS.get(col.parse, "text")


def out(col: Col, value):
    """A stored value as the API shows it: dates YYYY-MM-DD, numbers as exact decimal strings
    with the column's places ("1234.50"), empty text as null (as an empty cell is)."""
    if value is None or value == "":
        return None
    kind = col_type(col)
    if kind in PLACES:
        return str(Decimal(value).quantize(PLACES[kind]))
    if kind == "integer":
        return int(value)
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    return value


def bad_input(value) -> str | None:
    """Why a JSON value cannot stand in an import cell, or None: cells hold text and numbers
    (a JSON number arrives as int or Decimal: the body is parsed with parse_float=Decimal)."""
    if isinstance(value, str) and "\x00" in value:
        return "contains a NUL character"  # no text column holds one (PostgreSQL refuses it)
    if value is None or isinstance(value, (str, int, Decimal)) and not isinstance(value, bool):
        return None
    return "must be a string, a number or null"


def schema(col: Col, *, for_input: bool) -> dict:
    """The column's JSON Schema (OpenAPI 3.1); `for_input` admits what requests may send."""
    kind = col_type(col)
    if kind in PLACES:
        places = 2 if kind == "money" else 3
        out_schema = {
            "type": "string",
            "pattern": rf"^-?\d+\.\d{{{places}}}$",
            "examples": ["1234.50" if places == 2 else "12.000"],
        }
        in_schema = {
            "type": ["string", "number"],
            "description": "A number; as a string `.` or `,` may be the decimal separator and "
            "spaces inside are ignored (`1 234,50`).",
        }
    elif kind == "integer":
        out_schema = {"type": "integer", "minimum": 1}
        in_schema = {"type": ["integer", "string"]}
    elif kind == "date":
        out_schema = {"type": "string", "format": "date"}
        in_schema = {"type": "string", "description": "YYYY-MM-DD (DD.MM.YYYY is also accepted)."}
    else:
        out_schema = {"type": "string"}
        in_schema = {"type": ["string", "number"]}
        if col.max_len:
            out_schema["maxLength"] = in_schema["maxLength"] = col.max_len
    result = dict(in_schema if for_input else out_schema)
    if not col.required:
        # An optional column may be empty; sent as null it is an empty cell of the import.
        types = result["type"] if isinstance(result["type"], list) else [result["type"]]
        result["type"] = [*types, "null"]
    return result
