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
        return _node(rule, "", 0, types, counter, None)
    finally:
        if token is not None:
            _AS_OF.reset(token)


def matching(rule, of: str = "partners", as_of: date | None = None):
    """SELECT of the ids of the live partners (or the products) a rule matches."""
    from crm.segments.objects import objects_of

    condition = compile_rule(rule, of, as_of)
    target = objects_of(of)
    return select(target.id).where(*target.live(), condition)


def count(rule, of: str = "partners", as_of: date | None = None) -> int:
    from sqlalchemy import func

    sub = matching(rule, of, as_of).subquery()
    return db.session.execute(select(func.count()).select_from(sub)).scalar_one()


def member_ids(rule, of: str = "partners", as_of: date | None = None) -> list[int]:
    stmt = matching(rule, of, as_of)
    return list(db.session.execute(stmt.order_by(*stmt.selected_columns)).scalars())


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def _node(
    node,
    path: str,
    depth: int,
    types: dict[str, ConditionType],
    counter: list[int],
    within: Scope | None,
):
    """The SQL condition of a node; `within`: the partners outside of which the node's answer
    does not matter (see `narrowed_parts`), or None."""
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
            compiled = [
                _node(p, f"{_join(path, key)}[{i}]", depth + 1, types, counter, within)
                for i, p in enumerate(parts)
            ]
            if key == "all":
                compiled = narrowed_parts(
                    parts, compiled, _join(path, key), depth + 1, types, within
                )
            return combine(*compiled)
    if "not" in node:
        if len(node) != 1:
            raise RuleError(path, _("“not” holds only the part it negates."))
        return not_(_node(node["not"], _join(path, "not"), depth + 1, types, counter, within))
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
    if ctype.within:
        values["within"] = within.ids() if within is not None else None
    try:
        return ctype.build(values)
    except RuleError as exc:  # a condition's own check (a segment that does not exist…)
        raise RuleError(path or exc.path, exc.reason) from None
    except ConditionError as exc:
        raise RuleError(_join(path, exc.param) if exc.param else path, str(exc)) from None


def narrowed_parts(parts: list, compiled: list, path: str, depth: int, types, within) -> list:
    """The SQL conditions of an AND group's parts (`compiled`: each compiled on its own),
    where a part holding a condition that takes `within` (ConditionType.within) is compiled
    again knowing what the group's other parts allow (those without such a condition, and
    what the groups around allow), so that it computes its figure only for those partners;
    the other parts are then read once, as a set the narrowed parts share.

    What it buys (bench/segments_bench.py: 100,000 partners, 600,000 documents, 578,000
    payments): "bought product group X in 90 days AND overdue debt above 0 AND NOT in segment
    S" computes the overdue debt of X's ~4,200 recent buyers outside S instead of every
    partner's from every document and payment: the count took as long as the overdue
    condition alone (~0.8 s of CPU on either database) and takes ~170 ms on SQLite, ~155 ms
    on PostgreSQL. The answer is the same: outside what the other parts allow, the AND is false
    whatever this part says. Every part was compiled (checked) in order first, so a rule with
    several faults still reports the first."""
    narrow = [i for i, part in enumerate(parts) if _takes_within(part, types)]
    others = [c for i, c in enumerate(compiled) if i not in narrow]
    if not narrow or not (others or within):
        return compiled
    scope = Scope((*(within.conditions if within else ()), *others)) if others else within
    # Counted once already: a fresh counter for the second compilation.
    out = [_node(parts[i], f"{path}[{i}]", depth, types, [0], scope) for i in narrow]
    return [Partner.id.in_(scope.ids()), *out] if others else out


class Scope:
    """The partners a node's answer matters for: SQL conditions on the partner (the other
    parts of the ANDs around it), read as one set of ids when a condition asks for it."""

    def __init__(self, conditions: tuple):
        self.conditions = conditions
        self._ids = None

    def ids(self):
        """A SELECT of the ids, over a CTE made once per scope: computed once per statement
        however many conditions use it, and uncorrelated (a set of its own, wherever the rule
        ends up in a query)."""
        if self._ids is None:
            cte = select(Partner.id).where(*self.conditions).correlate(None).cte()
            self._ids = select(cte.c.id)
        return self._ids


def _takes_within(node, types: dict[str, ConditionType]) -> bool:
    """Whether a (checked) rule node holds a condition whose type takes `within`."""
    for key in GROUPS:
        if key in node:
            return any(_takes_within(part, types) for part in node[key])
    if "not" in node:
        return _takes_within(node["not"], types)
    ctype = types.get(node.get("type"))
    return ctype is not None and ctype.within


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
