"""The rule builder's form: a rule drawn as nested groups of conditions with plain form fields,
read back from a POST, changed by the button pressed (add a condition or a group, remove one)
and turned into the JSON rule of crm.segments.rules. Each step is a round trip to the server
(HTMX swaps the builder; without JavaScript the buttons submit the page), so the form keeps no
state in the browser and the rule is checked by the one compiler.

The fields of a node at path P ("0" is the root group, "0.2" its third part):
    n-P       "all" | "any" (a group) or "cond" (a condition)
    neg-P     present when the node is negated (NOT)
    t-P       a condition's type
    v-P-x     a condition's parameter x (repeated for a list)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _

from crm.core.conditions import ConditionType, Param
from crm.core.params import BadValue, parse_decimal
from crm.segments.rules import MAX_DEPTH, MAX_NODES

LIST_KINDS = ("texts", "choices", "ids")
_PATH = re.compile(rf"0(\.\d{{1,3}}){{0,{MAX_DEPTH}}}")


@dataclass
class Node:
    kind: str  # "all" | "any" | "cond"
    neg: bool = False
    type: str = ""
    values: dict[str, list[str]] = field(default_factory=dict)  # as typed
    # parameters a template left for the user to give (optional ones included: the
    # template's rule means nothing without them)
    required: set[str] = field(default_factory=set)
    parts: list[Node] = field(default_factory=list)
    path: str = "0"
    error: str = ""

    @property
    def is_group(self) -> bool:
        return self.kind in ("all", "any")

    def walk(self):
        yield self
        for part in self.parts:
            yield from part.walk()


def empty_tree() -> Node:
    return numbered(Node("all", parts=[Node("cond")]))


def numbered(root: Node) -> Node:
    """Give every node its path (after parts were added or removed)."""

    def visit(node: Node, path: str):
        node.path = path
        for i, part in enumerate(node.parts):
            visit(part, f"{path}.{i}")

    visit(root, "0")
    return root


# --- from a stored rule -------------------------------------------------------------------


def from_rule(rule, fill: tuple[str, ...] = ()) -> Node:
    """The builder's tree of a JSON rule (the root is always a group). `fill`: the paths of
    the values a template leaves to the user (crm.segments.presets), which the form then
    requires."""
    if rule is None:
        return empty_tree()
    node = _from_json(rule, False, "", set(fill))
    if not node.is_group or node.neg:
        node = Node("all", parts=[node])
    return numbered(node)


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def _from_json(rule, neg: bool, path: str, fill: set[str]) -> Node:
    if isinstance(rule, dict) and len(rule) == 1 and "not" in rule:
        return _from_json(rule["not"], not neg, _join(path, "not"), fill)
    if isinstance(rule, dict) and len(rule) == 1 and ("all" in rule or "any" in rule):
        kind = "all" if "all" in rule else "any"
        parts = rule[kind] if isinstance(rule[kind], list) else []
        return Node(
            kind,
            neg,
            parts=[
                _from_json(p, False, f"{_join(path, kind)}[{i}]", fill) for i, p in enumerate(parts)
            ],
        )
    if not isinstance(rule, dict):
        return Node("cond", neg)
    values = {}
    for key, value in rule.items():
        if key == "type" or value is None:
            continue
        items = value if isinstance(value, list) else [value]
        values[str(key)] = [str(v) for v in items if v is not None]
    required = {str(key) for key in rule if _join(path, str(key)) in fill}
    return Node("cond", neg, str(rule.get("type") or ""), values, required)


# --- from a form --------------------------------------------------------------------------


def from_form(form) -> Node:
    """The tree the posted fields describe. Paths that do not fit (a hand-made POST) are
    dropped; so are nodes past the rule's limits, which the compiler would refuse anyway."""
    paths = sorted(
        (p for p in (k[2:] for k in form if k.startswith("n-")) if _PATH.fullmatch(p)),
        key=lambda p: [int(x) for x in p.split(".")],
    )[: MAX_NODES * 2]
    if not paths or paths[0] != "0":
        return empty_tree()
    nodes: dict[str, Node] = {}
    for path in paths:
        kind = form.get(f"n-{path}")
        if kind not in ("all", "any", "cond"):
            continue
        parent = nodes.get(path.rpartition(".")[0]) if path != "0" else None
        if path != "0" and (parent is None or not parent.is_group):
            continue
        node = Node(kind, bool(form.get(f"neg-{path}")))
        if kind == "cond":
            node.type = (form.get(f"t-{path}") or "")[:60]
            node.required = {r[:40] for r in form.getlist(f"req-{path}")[:20]}
            prefix = f"v-{path}-"
            for key in form:
                if key.startswith(prefix):
                    node.values[key[len(prefix) :][:40]] = [
                        v for v in form.getlist(key)[:1000] if v != ""
                    ]
        nodes[path] = node
        if parent is not None:
            parent.parts.append(node)
    root = nodes.get("0")
    if root is None or not root.is_group:
        return empty_tree()
    return numbered(root)


def apply(root: Node, op: str, presets: dict | None = None) -> Node:
    """The tree after the button `op` ("add-cond:P", "add-group:P", "remove:P",
    "preset:KEY" with `presets` {key: a preset's rule and fill}); an op that names no node
    changes nothing."""
    action, _sep, target = (op or "").partition(":")
    if action == "preset" and presets and target in presets:
        preset = presets[target]
        return from_rule(preset.rule, preset.fill)
    if action == "reset":
        return empty_tree()
    found = {n.path: n for n in root.walk()}
    node = found.get(target)
    if node is None:
        return root
    if action == "add-cond" and node.is_group:
        node.parts.append(Node("cond"))
    elif action == "add-group" and node.is_group:
        node.parts.append(Node("any" if node.kind == "all" else "all", parts=[Node("cond")]))
    elif action == "remove" and target != "0":
        parent = found[target.rpartition(".")[0]]
        parent.parts = [p for p in parent.parts if p is not node]
    return numbered(root)


# --- to a JSON rule -----------------------------------------------------------------------


class BuilderProblem(ValueError):
    def __init__(self, node: Node, message: str):
        super().__init__(message)
        node.error = message
        self.node = node


def to_rule(root: Node, types: dict[str, ConditionType]):
    """(the JSON rule, {JSON path of a node: its builder node}); None for a tree with no
    condition. Raises BuilderProblem for a condition whose type is not chosen."""
    where: dict[str, Node] = {}
    rule = _to_json(root, types, "", where)
    return rule, where


def _to_json(node: Node, types, path: str, where: dict):
    inner = f"{path}.not" if path and node.neg else ("not" if node.neg else path)
    if node.is_group:
        parts = []
        for part in node.parts:
            at = f"{inner + '.' if inner else ''}{node.kind}[{len(parts)}]"
            rule = _to_json(part, types, at, where)
            if rule is not None:
                parts.append(rule)
        if not parts:
            return None
        rule = {node.kind: parts}
    else:
        ctype = types.get(node.type)
        if ctype is None:
            raise BuilderProblem(node, _("Choose what the condition checks."))
        rule = {"type": node.type}
        for param in ctype.params:
            value = _json_value(param, node.values.get(param.name, []))
            if value is not None:
                rule[param.name] = value
            elif param.name in node.required:
                title = param.title or param.name
                raise BuilderProblem(node, _("Give %(what)s: the template needs it.", what=title))
    where[inner] = node
    where[path] = node
    return {"not": rule} if node.neg else rule


def _json_value(param: Param, raw: list[str]):
    """A parameter's typed text as the JSON rule keeps it (checked by the compiler, which
    reports a bad value at its place); None when left empty."""
    if param.kind == "texts":
        items = [t.strip() for v in raw for t in re.split(r"[\n,]+", v) if t.strip()]
        return items or None
    if param.kind in ("choices", "ids"):
        items = [v.strip() for v in raw if v.strip()]
        if param.kind == "ids":
            return [int(v) if v.isdigit() and len(v) < 10 else v for v in items] or None
        return items or None
    text = raw[0].strip() if raw else ""
    if not text:
        return None
    if param.kind == "int" and text.isdigit() and len(text) < 10:
        return int(text)
    if param.kind == "money":
        try:  # "1 234,50" as typed in Russian is kept as "1234.50"
            return str(parse_decimal(text, places=2, digits=12))
        except BadValue:
            return text
    return text


def place_error(where: dict[str, Node], path: str, message: str) -> Node | None:
    """Put a compiler's message (without its path) on the node its path names (the nearest
    enclosing one)."""
    while True:
        node = where.get(path)
        if node is not None:
            node.error = message
            return node
        if not path:
            return None
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""


def located(node: Node | None, path: str, types: dict[str, ConditionType], reason: str) -> str:
    """A compiler's message as a person reads it: «Роль — Роли: this parameter is required»."""
    if node is None or node.kind != "cond" or node.type not in types:
        return reason
    ctype = types[node.type]
    place = str(ctype.title)
    param = path.rpartition(".")[2]
    for p in ctype.params:
        if p.name == param:
            place = f"{place} — {p.title or p.name}"
    return f"{place}: {reason}"


# --- drawing ------------------------------------------------------------------------------


def param_value_text(param: Param, value) -> str:
    """A stored value as a person reads it (a choice's title, an option's label)."""
    items = value if isinstance(value, list) else [value]
    if param.labels:
        items = [str(param.labels.get(v, v)) for v in items]
    elif param.options is not None:
        labels = dict(param.options())
        items = [labels.get(v, str(v)) for v in items]
    elif param.kind == "money":
        from crm.core.formats import fmt_money

        items = [fmt_money(Decimal(str(v))) if _is_number(v) else str(v) for v in items]
    elif param.kind == "date":
        from datetime import date

        from crm.core.formats import fmt_date

        items = [fmt_date(date.fromisoformat(v)) if _is_date(v) else str(v) for v in items]
    return ", ".join(str(v) for v in items)


def _is_number(value) -> bool:
    try:
        Decimal(str(value))
    except ArithmeticError:
        return False
    return True


def _is_date(value) -> bool:
    return isinstance(value, str) and bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))


def describe(rule, types: dict[str, ConditionType]) -> str:
    """A stored rule in words: «Все условия: Город: Москва; НЕ (Роли: клиент)»."""
    if rule is None:
        return ""
    if isinstance(rule, dict) and "not" in rule and len(rule) == 1:
        return _("NOT (%(rule)s)", rule=describe(rule["not"], types))
    for key, title in (("all", _("all of")), ("any", _("any of"))):
        if isinstance(rule, dict) and key in rule and len(rule) == 1:
            inner = "; ".join(describe(p, types) for p in rule[key])
            return f"{title}: {inner}" if len(rule[key]) > 1 else inner
    if not isinstance(rule, dict):
        return "?"
    ctype = types.get(rule.get("type"))
    if ctype is None:
        return _("unknown condition %(type)s", type=str(rule.get("type"))[:60])
    given = [p for p in ctype.params if rule.get(p.name) not in (None, "", [])]
    if len(given) == 1 and (given[0].labels or given[0].kind in LIST_KINDS):
        # the values speak for themselves: «Город: Москва», «Роль: Клиент»
        return f"{ctype.title}: {param_value_text(given[0], rule[given[0].name])}"
    shown = "; ".join(f"{p.title or p.name}: {param_value_text(p, rule[p.name])}" for p in given)
    return f"{ctype.title}" + (f" ({shown})" if shown else "")
