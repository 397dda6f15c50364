"""Partner scopes (crm.core.partner_scope) as filters of any list with a partner dimension
(ListFilter.partner_column), and the selections' reading of a posted query string
(crm.core.selections): throwaway scopes on a throwaway list; expected values by hand."""

from __future__ import annotations

import pytest
from sqlalchemy import column, select, table

from crm.core.filters import OWN_NARROWING, IdField, Ignored, ListFilter, SearchField
from crm.core.partner_scope import PARTNER_SCOPES, PartnerScope
from crm.core.registry import Registry
from crm.core.selections import SelectionError, parse_args, unique_name

members = table("members", column("group_id"), column("partner_id"))


def _ids(value, user):
    if value == 13:
        raise Ignored("Group 13 is broken; ignored.")
    return select(members.c.partner_id).where(members.c.group_id == value)


GROUP = PartnerScope("group", IdField("Group", message="Unknown group ignored."), _ids)
TEAM = PartnerScope(
    "team",
    IdField("Team"),
    lambda value, user: select(members.c.partner_id).where(members.c.group_id == value + 100),
    rule=lambda value: {"type": "team", "teams": [value]},
)


class Rows(ListFilter):
    partner_column = column("partner_id")

    q = SearchField("Search")


class Report(ListFilter):
    partner_column = OWN_NARROWING


class Plain(ListFilter):
    q = SearchField("Search")


@pytest.fixture
def scopes(app, monkeypatch):
    registry = Registry()
    registry.add(GROUP)
    registry.add(TEAM)
    monkeypatch.setitem(app.extensions, PARTNER_SCOPES.name, registry)
    with app.test_request_context():
        yield


def sql(clause) -> str:
    return " ".join(str(clause.compile(compile_kwargs={"literal_binds": True})).split())


def test_a_list_with_a_partner_column_gets_every_scope_as_a_filter(scopes):
    flt = Rows({"group": "7"})
    assert [f.name for f in flt.extra_fields] == ["group", "team"]
    assert flt.group == 7 and flt.team is None and flt.problems == []
    (clause,) = flt.extra_clauses()
    assert sql(clause) == (
        "partner_id IN (SELECT members.partner_id FROM members WHERE members.group_id = 7)"
    )
    assert flt.scope_params() == {"group": "7"}
    assert flt.params() == {"group": "7"}
    assert flt.active


def test_two_scopes_narrow_to_the_partners_of_both(scopes):
    flt = Rows({"group": "7", "team": "2"})
    assert len(flt.extra_clauses()) == 2
    assert sql(flt.partner_ids()).count("INTERSECT") == 1


def test_a_report_narrowing_itself_gets_the_ids_but_no_clause(scopes):
    flt = Report({"group": "7"})
    assert flt.extra_clauses() == []
    assert "members.group_id = 7" in sql(flt.partner_ids())
    assert Report({}).partner_ids() is None


def test_a_list_without_a_partner_column_gets_no_scope(scopes):
    assert Plain({"group": "7"}).extra_fields == []
    with pytest.raises(TypeError):
        Plain(group="7")


def test_a_value_the_scope_refuses_is_dropped_with_its_message(scopes):
    flt = Rows({"group": "13", "q": "x"})
    assert flt.problems == ["Group 13 is broken; ignored."]
    assert flt.group is None and flt.extra_clauses() == [] and flt.partner_ids() is None
    assert Rows({"group": "x"}).problems == ["Unknown group ignored."]


def test_the_rules_of_the_scopes_in_force(scopes):
    assert Rows({"team": "4"}).extra_rules() == [{"type": "team", "teams": [4]}]
    assert Rows({}).extra_rules() == []
    assert Rows({"group": "4"}).extra_rules() is None  # the group has no rule


# --- selections: a posted query string ------------------------------------------------------


def test_a_posted_query_string_is_read_as_the_page_read_it():
    args = parse_args("?city=%D0%9A%D0%B0%D0%B7%D0%B0%D0%BD%D1%8C&segment=2&tag=&tag=5")
    assert args["city"] == "Казань" and args["segment"] == "2"
    assert args.getlist("tag") == ["", "5"]


@pytest.mark.parametrize("text", ["x=" + "y" * 9000, "q=%00", "a\x00=b", "&".join(["a=1"] * 300)])
def test_a_query_string_no_page_writes_is_refused(app, text):
    with app.test_request_context(), pytest.raises(SelectionError):
        parse_args(text)


def test_a_suggested_name_is_made_unique(app):
    with app.test_request_context():
        assert unique_name("Должники", lambda names: set()) == "Должники"
        taken = {"Должники", "Должники (2)"}
        assert unique_name("Должники", lambda names: taken & set(names)) == "Должники (3)"
        long = "я" * 200
        assert unique_name(long, lambda names: {long}) == "я" * 196 + " (2)"
