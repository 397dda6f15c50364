"""Segment rules as data: a JSON tree of conditions compiled to one SQL condition with bound
parameters (no SQL is ever written by the user, so a value such as `'; DROP TABLE partner; --`
is only a value).

    rule      := group | not | condition
    group     := {"all": [rule, …]}  (AND)   |   {"any": [rule, …]}  (OR)
    not       := {"not": rule}
    condition := {"type": "<registered key>", "<param>": value, …}

Condition types come from the domains that own their data (crm.core.conditions). Everything is
checked before SQL is built: the shape of each node, the type, every parameter (unknown ones
too) and every value; the first problem raises RuleError with the path to the node at fault
(`all[1].not.city`)."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import and_, not_, or_, select

from crm.core.conditions import ConditionError, ConditionType, Param, condition_types
from crm.core.errors import DomainError
from crm.core.params import BadValue, parse_date, parse_decimal, parse_int
from crm.core.timeutil import site_today
from crm.extensions import db
from crm.partners.models import Partner

MAX_DEPTH = 8
MAX_NODES = 100
MAX_TEXT = 200
MAX_LIST = 1000
GROUPS = {"all": and_, "any": or_}


class RuleError(DomainError):
    """A rule that cannot be used; `path` names the node at fault ("" for the whole rule)."""

    def __init__(self, path: str, message: str):
        text = f"{path}: {message}" if path else message
        super().__init__(text, {"rule": [text]})
        self.path = path
        # without the path: the builder shows it at its node, the API names the node apart
        self.reason = message


# The date a rule is evaluated on ("bought in the last 90 days" ends on it): today unless a
# caller asks for another (`crm segments members --as-of`); nested rules (a segment's rule
# compiled inside another's) see the same date.
_AS_OF: ContextVar[date | None] = ContextVar("segments_as_of", default=None)


def compile_rule(rule, of: str = "partners", as_of: date | None = None):
    """The SQL condition of a rule over the object's table (raises RuleError)."""
    token = _AS_OF.set(as_of) if as_of is not None else None
    try:
        types = {k: t for k, t in condition_types().items() if t.of == of}
        counter = [0]
        return _node(rule, "", 0, types, counter)
    finally:
        if token is not None:
            _AS_OF.reset(token)


def matching(rule, of: str = "partners", as_of: date | None = None):
    """SELECT of the ids of the live partners a rule matches."""
    condition = compile_rule(rule, of, as_of)
    return select(Partner.id).where(Partner.merged_into_id.is_(None), condition)


def count(rule, of: str = "partners", as_of: date | None = None) -> int:
    from sqlalchemy import func

    sub = matching(rule, of, as_of).subquery()
    return db.session.execute(select(func.count()).select_from(sub)).scalar_one()


def member_ids(rule, of: str = "partners", as_of: date | None = None) -> list[int]:
    stmt = matching(rule, of, as_of).order_by(Partner.id)
    return list(db.session.execute(stmt).scalars())


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def _node(node, path: str, depth: int, types: dict[str, ConditionType], counter: list[int]):
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise RuleError(path, _("The rule has more than %(max)s parts.", max=MAX_NODES))
    if depth > MAX_DEPTH:
        raise RuleError(path, _("The rule is nested deeper than %(max)s levels.", max=MAX_DEPTH))
    if not isinstance(node, dict) or not node:
        raise RuleError(path, _("A rule part must be an object."))
    for key, combine in GROUPS.items():
        if key in node:
            if len(node) != 1:
                raise RuleError(path, _("A group holds only its list of parts."))
            parts = node[key]
            if not isinstance(parts, list) or not parts:
                raise RuleError(
                    _join(path, key), _("A group needs a non-empty list of conditions.")
                )
            return combine(
                *(
                    _node(p, f"{_join(path, key)}[{i}]", depth + 1, types, counter)
                    for i, p in enumerate(parts)
                )
            )
    if "not" in node:
        if len(node) != 1:
            raise RuleError(path, _("“not” holds only the part it negates."))
        return not_(_node(node["not"], _join(path, "not"), depth + 1, types, counter))
    kind = node.get("type")
    if not isinstance(kind, str) or kind not in types:
        raise RuleError(
            _join(path, "type"),
            _("Unknown condition type %(type)s.", type=repr(kind)[:60]),
        )
    ctype = types[kind]
    known = {p.name for p in ctype.params} | {"type"}
    unknown = sorted(str(k) for k in node if k not in known)
    if unknown:
        raise RuleError(
            _join(path, unknown[0][:40]),
            _("Unknown parameter of %(type)s.", type=kind),
        )
    values = {}
    for param in ctype.params:
        where = _join(path, param.name)
        if param.name not in node or node[param.name] in (None, "", []):
            if param.required:
                raise RuleError(where, _("This parameter is required."))
            values[param.name] = None
            continue
        values[param.name] = read_value(param, node[param.name], where)
    values["as_of"] = _AS_OF.get() or site_today()
    try:
        return ctype.build(values)
    except RuleError as exc:  # a condition's own check (a segment that does not exist…)
        raise RuleError(path or exc.path, exc.reason) from None
    except ConditionError as exc:
        raise RuleError(_join(path, exc.param) if exc.param else path, str(exc)) from None


def read_value(param: Param, raw, where: str):
    """A parameter's JSON value checked and read by its kind (raises RuleError)."""
    try:
        if param.kind in ("texts", "choices", "ids"):
            if not isinstance(raw, list) or not raw:
                raise RuleError(where, _("A non-empty list is expected."))
            if len(raw) > MAX_LIST:
                raise RuleError(where, _("At most %(max)s values.", max=MAX_LIST))
            one = {"texts": "text", "choices": "choice", "ids": "id"}[param.kind]
            return [_one(param, one, v, where) for v in raw]
        return _one(param, param.kind, raw, where)
    except BadValue as exc:
        raise RuleError(where, str(exc)) from None


def _one(param: Param, kind: str, raw, where: str):
    if kind == "text":
        if not isinstance(raw, str) or not raw.strip():
            raise RuleError(where, _("A non-empty text is expected."))
        if len(raw) > MAX_TEXT:
            raise RuleError(where, _("At most %(max)s characters.", max=MAX_TEXT))
        if "\x00" in raw:  # no text column holds one (PostgreSQL refuses it even as a value)
            raise RuleError(where, _("A text cannot contain a NUL character."))
        return raw.strip()
    if kind in ("int", "id"):
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise RuleError(where, _("A whole number is expected."))
        if kind == "id":
            return parse_int(raw, minimum=1, maximum=2**31 - 1)
        return parse_int(raw, minimum=param.minimum, maximum=param.maximum)
    if kind == "money":
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise RuleError(where, _("A number is expected."))
        return parse_decimal(raw, places=2, digits=12)
    if kind == "date":
        if not isinstance(raw, str):
            raise RuleError(where, _("A date YYYY-MM-DD is expected."))
        return parse_date(raw)
    if kind == "choice":
        if raw not in param.choices:
            raise RuleError(
                where,
                _(
                    "%(value)s is not one of %(choices)s.",
                    value=repr(raw)[:40],
                    choices=", ".join(param.choices),
                ),
            )
        return raw
    raise RuleError(where, f"unknown parameter kind {kind!r}")  # a programming error
