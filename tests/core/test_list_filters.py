"""List filters as GET forms (crm.core.filters): each field type reads a good value, ignores a
bad one with a message, keeps the app's bounds, and writes its value back for links; a list
declared here reads, reports and draws its controls. Expected values are written by hand."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import render_template_string
from werkzeug.datastructures import MultiDict

from crm.core.filters import (
    ChoiceField,
    DateField,
    ExtraFilter,
    FlagField,
    IdField,
    ListFilter,
    PageField,
    ParsedField,
    SearchField,
    WholeNumberField,
)
from crm.core.params import parse_text
from crm.core.registry import RegistryKey


class Things(ListFilter):
    """A throwaway list: one field of each type."""

    q = SearchField("Search", id="q")
    colour = ChoiceField(
        "Colour",
        {"red": "Red", "blue": "Blue"},
        blank="Any colour",
        message="Unknown colour {value} ignored.",
        id="f-colour",
    )
    owner = IdField(
        "Owner",
        keywords=("none",),
        as_text=True,
        message="Unknown owner ignored.",
        fixed=[("", "Anyone"), ("none", "Nobody")],
        id="f-owner",
    )
    box = IdField("Box", message="Unknown box ignored.")
    since = DateField("Since", name="from", what="The start date")
    fresh = FlagField("Fresh only")
    sort = ChoiceField(
        "Sort",
        {"name": "Name", "-name": "Name (Z–A)"},
        default="name",
        active=False,
        message="Unknown sort order {value} ignored.",
        id="f-sort",
    )
    page = PageField("Page")

    def check(self):
        if self.fresh and self.colour == "blue":
            self.problems.append("Blue things are never fresh; showing all.")
            self.fresh = False


def test_nothing_given_is_every_default_and_no_message():
    flt = Things({})
    assert (flt.q, flt.colour, flt.owner, flt.box, flt.since, flt.fresh, flt.sort, flt.page) == (
        "",
        "",
        "",
        None,
        None,
        False,
        "name",
        1,
    )
    assert flt.problems == []
    assert flt.params() == {}
    assert not flt.active


def test_good_values_are_read_as_their_types():
    flt = Things(
        MultiDict(
            {
                "q": "  acme  ",
                "colour": "red",
                "owner": "7",
                "box": "12",
                "from": "01.02.2024",
                "fresh": "on",
                "sort": "-name",
                "page": "3",
            }
        )
    )
    assert (flt.q, flt.colour, flt.owner, flt.box, flt.since, flt.fresh, flt.sort, flt.page) == (
        "acme",
        "red",
        "7",
        12,
        date(2024, 2, 1),
        True,
        "-name",
        3,
    )
    assert flt.problems == []
    assert flt.active


@pytest.mark.parametrize(
    ("args", "message", "attribute", "default"),
    [
        ({"colour": "green"}, "Unknown colour 'green' ignored.", "colour", ""),
        ({"owner": "x1"}, "Unknown owner ignored.", "owner", ""),
        ({"owner": "0"}, "Unknown owner ignored.", "owner", ""),
        ({"owner": "2147483648"}, "Unknown owner ignored.", "owner", ""),  # beyond `integer`
        ({"box": "²"}, "Unknown box ignored.", "box", None),  # a digit int() refuses
        ({"box": "-3"}, "Unknown box ignored.", "box", None),
        (
            {"from": "yesterday"},
            "The start date 'yesterday' is not a date (YYYY-MM-DD); ignored.",
            "since",
            None,
        ),
        (
            {"from": "2024-02-30"},
            "The start date '2024-02-30' is not a date (YYYY-MM-DD); ignored.",
            "since",
            None,
        ),
        (
            {"from": "1899-12-31"},
            "The start date must be between 1900-01-01 and 2999-12-31; ignored.",
            "since",
            None,
        ),
        (
            {"from": "3000-01-01"},
            "The start date must be between 1900-01-01 and 2999-12-31; ignored.",
            "since",
            None,
        ),
        ({"sort": "price"}, "Unknown sort order 'price' ignored.", "sort", "name"),
        ({"page": "0"}, "Unknown page number; showing the first page.", "page", 1),
        ({"page": "100001"}, "Unknown page number; showing the first page.", "page", 1),
        ({"page": "two"}, "Unknown page number; showing the first page.", "page", 1),
    ],
)
def test_a_bad_value_is_ignored_with_a_message(args, message, attribute, default):
    flt = Things(args)
    assert flt.problems == [message]
    assert getattr(flt, attribute) == default
    assert flt.params() == {}  # the bad value is in no link


def test_the_bounds_themselves_are_allowed():
    flt = Things({"owner": "2147483647", "box": "1", "from": "1900-01-01", "page": "100000"})
    assert (flt.owner, flt.box, flt.since, flt.page) == ("2147483647", 1, date(1900, 1, 1), 100000)
    assert Things({"from": "2999-12-31"}).since == date(2999, 12, 31)
    assert flt.problems == []


def test_search_text_loses_control_characters_and_is_cut_with_a_message():
    flt = Things({"q": "a\x00b\tc"})
    assert flt.q == "a b c"
    assert flt.problems == ["The search text had control characters; they were removed."]
    long = Things({"q": "я" * 250})
    assert long.q == "я" * 200
    assert long.problems == ["The search text was cut to 200 characters."]


def test_check_sees_every_value_and_adds_its_own_message():
    flt = Things({"colour": "blue", "fresh": "1", "page": "x"})
    assert flt.fresh is False
    assert flt.problems == [
        "Unknown page number; showing the first page.",
        "Blue things are never fresh; showing all.",
    ]


def test_params_leave_defaults_out_and_read_back_the_same_filter():
    args = {
        "q": "acme",
        "colour": "red",
        "owner": "none",
        "box": "5",
        "from": "2024-02-01",
        "fresh": "yes",
        "sort": "-name",
        "page": "2",
    }
    flt = Things(args)
    expected = {
        "q": "acme",
        "colour": "red",
        "owner": "none",
        "box": "5",
        "from": "2024-02-01",
        "fresh": "1",
        "sort": "-name",
        "page": "2",
    }
    assert flt.params() == expected
    again = Things(flt.params())
    assert again.params() == expected
    # Changes by attribute or parameter name; a default or empty value leaves the key out.
    assert flt.params(page=1, sort="name", since=None, box=None) == {
        "q": "acme",
        "colour": "red",
        "owner": "none",
        "fresh": "1",
    }
    assert flt.params(**{"from": date(2025, 3, 4)})["from"] == "2025-03-04"


def test_keep_default_writes_the_default_into_links():
    class Calendar(ListFilter):
        view = ChoiceField(
            "View", {"day": "Day", "month": "Month"}, default="month", keep_default=True
        )

    assert Calendar({}).params() == {"view": "month"}


def test_parsed_and_whole_number_fields_tell_absent_from_empty():
    class Api(ListFilter):
        per_page = WholeNumberField(
            default=100, maximum=500, message=lambda raw: f"per_page: not {raw!r}."
        )
        code = ParsedField(name="code", parse=lambda raw: parse_text(raw, max_len=3))

    absent = Api({})
    assert (absent.per_page, absent.code, absent.problems) == (100, None, [])
    empty = Api({"code": "", "per_page": ""})
    assert (empty.per_page, empty.code, empty.problems) == (100, "", [])
    bad = Api({"code": "abcd", "per_page": "501"})
    assert bad.problems == ["per_page: not '501'.", "The text is longer than 3 characters."]
    assert (bad.per_page, bad.code) == (100, None)


def test_a_declared_filter_draws_its_controls_with_the_value_in_force(app):
    flt = Things({"colour": "blue", "owner": "none", "sort": "nonsense"})
    flt["owner"].options = [(7, "Ann"), (8, "Bob")]
    template = """{% from '_macros/filters.html' import filter_control %}
{{ filter_control(flt['colour'], 'col-6') }}{{ filter_control(flt['owner'], 'col-6') }}
{{ filter_control(flt['sort'], 'col-6', 'form-label') }}{{ filter_control(flt['q'], 'col-12') }}"""
    with app.test_request_context("/"):
        html = render_template_string(template, flt=flt)
    selects = dict(re.findall(r'<select[^>]* id="([^"]+)"[^>]*>(.*?)</select>', html, re.S))
    selected = {
        key: re.findall(r"<option selected value=\"([^\"]*)\"", body)
        for key, body in selects.items()
    }
    assert selected == {"f-colour": ["blue"], "f-owner": ["none"], "f-sort": ["name"]}
    options = re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)<', selects["f-owner"])
    assert options == [("", "Anyone"), ("none", "Nobody"), ("7", "Ann"), ("8", "Bob")]
    assert re.findall(r'<option[^>]*value="([^"]*)"', selects["f-colour"]) == ["", "red", "blue"]
    assert 'name="colour"' in html and 'name="owner"' in html and 'name="sort"' in html
    assert '<label class="visually-hidden" for="f-colour">Colour</label>' in html
    assert '<label class="form-label" for="f-sort">Sort</label>' in html
    assert re.search(r'<input class="form-control" id="q" name="q" type="search" value="">', html)
    assert flt.problems == ["Unknown sort order 'nonsense' ignored."]


def test_values_given_by_name_read_as_the_query_string_and_unknown_names_are_refused():
    from crm.partners.filters import PartnerFilter

    by_name = PartnerFilter(q="ромаш", city="Москва")
    from_query = PartnerFilter({"q": "ромаш", "city": "Москва"})

    assert (by_name.q, by_name.city) == (from_query.q, from_query.city) == ("ромаш", "Москва")
    with pytest.raises(TypeError, match="no filter"):
        PartnerFilter(town="Москва")


# --- filters added by higher domains (ListFilter.extra_filters) -----------------------------

EXTRAS: RegistryKey[ExtraFilter] = RegistryKey("tests.things_extra_filters")


class ExtendedThings(ListFilter):
    extra_filters = EXTRAS

    q = SearchField("Search", id="q")
    page = PageField("Page")


@pytest.fixture
def extras(app):
    registry = EXTRAS.of(app)
    registry.add(
        ExtraFilter(
            "size",
            ChoiceField("Size", {"s": "Small", "l": "Large"}, blank="Any size", id="f-size"),
            lambda value: f"size = {value}",
            20,
        )
    )
    registry.add(
        ExtraFilter(
            "hidden",
            ChoiceField("Hidden", {"y": "Yes"}, id="f-hidden"),
            lambda value: f"hidden = {value}",
            10,
            lambda user: False,
        )
    )
    yield registry
    app.extensions.pop(EXTRAS.name)


def test_an_extra_filter_reads_reports_and_gives_its_condition(app, extras):
    flt = ExtendedThings(MultiDict({"size": "l", "q": "x", "hidden": "y"}))
    # no one signed in (a CLI, a job): every extra filter is there
    assert [e.key for e in flt.extras] == ["hidden", "size"]
    assert flt.size == "l" and flt.active and flt.active_count == 3
    assert flt.extra_clauses() == ["hidden = y", "size = l"]
    assert flt.params(page=2) == {"q": "x", "page": "2", "hidden": "y", "size": "l"}
    bad = ExtendedThings(MultiDict({"size": "xl"}))
    assert bad.size == "" and bad.problems == ["Unknown value 'xl' ignored."]
    assert bad.extra_clauses() == [] and not bad.active
    assert [f.id for f in bad.extra_fields] == ["f-hidden", "f-size"]


def test_an_extra_filter_the_user_may_not_use_is_left_out(app, extras, make_user):
    from flask import g, request

    with app.test_request_context("/?hidden=y&size=s"):
        g._login_user = make_user("viewer")  # signed in, as Flask-Login keeps it
        flt = ExtendedThings(request.args)
        assert [e.key for e in flt.extras] == ["size"]
        assert flt.extra_clauses() == ["size = s"]
        assert "hidden" not in flt.params()


def test_an_extra_filter_may_not_take_a_declared_name(app):
    EXTRAS.of(app).add(ExtraFilter("q", ChoiceField("Q", {"a": "A"}), lambda v: v))
    try:
        with pytest.raises(ValueError, match="already has a filter"):
            ExtendedThings(MultiDict())
    finally:
        app.extensions.pop(EXTRAS.name)


def test_a_list_without_a_registry_has_no_extra_filters(app):
    flt = Things(MultiDict())
    assert flt.extras == [] and flt.extra_fields == [] and flt.extra_clauses() == []
