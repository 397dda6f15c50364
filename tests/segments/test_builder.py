"""The rule builder's form model (crm.segments.builder): a JSON rule drawn as form fields comes
back as the same rule, buttons change the tree, a compiler's error finds its condition, and
a hand-made POST cannot break it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from werkzeug.datastructures import MultiDict

from crm.core.conditions import condition_types
from crm.segments import builder
from crm.segments.rules import RuleError, compile_rule

RULE = {
    "all": [
        {"type": "partner.city", "cities": ["Москва", "Тверь"]},
        {
            "not": {
                "any": [
                    {"type": "partner.role", "roles": ["supplier", "competitor"]},
                    {"not": {"type": "partner.no_manager"}},
                ]
            }
        },
    ]
}


def fields_of(node: builder.Node) -> MultiDict:
    """The fields the template draws for a tree (as a browser posts them)."""
    form = MultiDict()
    for n in node.walk():
        form.add(f"n-{n.path}", n.kind)
        if n.neg:
            form.add(f"neg-{n.path}", "1")
        if n.kind == "cond":
            form.add(f"t-{n.path}", n.type)
            for r in n.required:
                form.add(f"req-{n.path}", r)
            for name, values in n.values.items():
                for v in values:
                    form.add(f"v-{n.path}-{name}", v)
    return form


def test_a_rule_survives_the_form_round_trip(app):
    tree = builder.from_form(fields_of(builder.from_rule(RULE)))
    rule, _where = builder.to_rule(tree, condition_types())
    assert rule == RULE


def test_a_rule_that_is_a_single_condition_gets_a_root_group(app):
    tree = builder.from_rule({"not": {"type": "partner.no_manager"}})
    assert (tree.kind, tree.neg, tree.parts[0].neg) == ("all", False, True)
    rule, _ = builder.to_rule(tree, condition_types())
    assert rule == {"all": [{"not": {"type": "partner.no_manager"}}]}


def test_buttons_add_and_remove_parts_and_paths_follow(app):
    tree = builder.from_rule(RULE)
    tree = builder.apply(tree, "add-group:0.1")
    assert [n.path for n in tree.walk()] == [
        "0",
        "0.0",
        "0.1",
        "0.1.0",
        "0.1.1",
        "0.1.2",
        "0.1.2.0",
    ]
    assert tree.parts[1].parts[2].kind == "all"  # a group inside "any" is "all"
    tree = builder.apply(tree, "remove:0.0")
    assert [n.path for n in tree.walk()][:3] == ["0", "0.0", "0.0.0"]
    assert builder.apply(tree, "remove:0") is tree and len(tree.parts) == 1  # the root stays
    assert builder.apply(tree, "add-cond:9.9") is tree  # names no node: nothing changes
    chosen = SimpleNamespace(rule={"type": "partner.no_manager"}, fill=())
    preset = builder.apply(tree, "preset:x", {"x": chosen})
    assert builder.to_rule(preset, condition_types())[0] == {
        "all": [{"type": "partner.no_manager"}]
    }


def test_empty_groups_are_left_out_and_an_empty_tree_is_no_rule(app):
    tree = builder.apply(builder.from_rule({"type": "partner.no_manager"}), "add-group:0")
    tree.parts[1].parts = []
    assert builder.to_rule(tree, condition_types())[0] == {"all": [{"type": "partner.no_manager"}]}
    tree.parts = []
    assert builder.to_rule(tree, condition_types())[0] is None


def test_a_compiler_error_lands_on_its_condition(app):
    rule = {"all": [{"type": "partner.no_manager"}, {"not": {"type": "partner.kind", "kind": "x"}}]}
    tree = builder.from_rule(rule)
    rule, where = builder.to_rule(tree, condition_types())
    try:
        compile_rule(rule)
    except RuleError as exc:
        node = builder.place_error(where, exc.path, exc.message)
    assert node is tree.parts[1] and "'x' is not one of" in node.error


def test_a_hand_made_post_cannot_break_the_tree(app):
    form = MultiDict(
        [
            ("n-0", "any"),
            ("n-0.0", "cond"),
            ("t-0.0", "partner.no_manager"),
            ("n-0.0.5", "cond"),  # under a condition: dropped
            ("n-7", "all"),  # not under the root: dropped
            ("n-0.1", "bogus"),  # no such kind: dropped
            ("n-0.2.1", "cond"),  # its parent is missing: dropped
            ("n-0." + ".".join(["0"] * 20), "cond"),  # deeper than any rule: dropped
        ]
    )
    tree = builder.from_form(form)
    assert [n.path for n in tree.walk()] == ["0", "0.0"]
    assert builder.from_form(MultiDict([("n-0", "cond")])).kind == "all"  # the root is a group
    assert builder.from_form(MultiDict()).parts[0].kind == "cond"


def test_values_are_kept_as_the_compiler_reads_them(app):
    types = condition_types()
    form = MultiDict(
        [
            ("n-0", "all"),
            ("n-0.0", "cond"),
            ("t-0.0", "sales.bought"),
            ("v-0.0-days", "90"),
            ("v-0.0-groups", "3"),
            ("v-0.0-groups", "12"),
            ("n-0.1", "cond"),
            ("t-0.1", "partner.city"),
            ("v-0.1-cities", "Москва,\nСанкт-Петербург\n"),
        ]
    )
    rule, _ = builder.to_rule(builder.from_form(form), types)
    assert rule == {
        "all": [
            {"type": "sales.bought", "days": 90, "groups": [3, 12]},
            {"type": "partner.city", "cities": ["Москва", "Санкт-Петербург"]},
        ]
    }


def test_a_value_a_template_leaves_open_must_be_given(app):
    from crm.segments.presets import get_preset

    preset = get_preset("frequent_group")
    tree = builder.from_form(
        fields_of(builder.apply(builder.empty_tree(), "preset:f", {"f": preset}))
    )
    with pytest.raises(builder.BuilderProblem, match="the template needs it"):
        builder.to_rule(tree, condition_types())
    tree.parts[0].values["groups"] = ["7"]
    rule, _ = builder.to_rule(tree, condition_types())
    assert rule == {"all": [{"type": "sales.bought", "days": 365, "groups": [7], "times": 3}]}
