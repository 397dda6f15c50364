"""Dynamic, periodic and manual segments (crm.segments.services) and their commands: members
by hand on a few partners, a periodic refresh recording who entered and left (twice: nothing
new), manual members by code, and the CLI's output and refusals."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from crm.core.errors import DomainError
from crm.extensions import db
from crm.partners.models import Partner
from crm.segments.models import Segment, SegmentChange, SegmentMember, SegmentRefresh
from crm.segments.services import (
    add_members,
    create_segment,
    members,
    partner_ids_for_codes,
    refresh,
    remove_members,
)
from tests.factories import create_partner

MOSCOW = {"type": "partner.city", "cities": ["Москва"]}


@pytest.fixture
def town(app):
    """K1 Москва, K2 Москва, K3 Казань (codes K1…K3)."""
    ids = {}
    for code, city in (("K1", "Москва"), ("K2", "Москва"), ("K3", "Казань")):
        ids[code] = create_partner(f"Клиент {code}", code=code, city=city, commit=False).id
    db.session.commit()
    return ids


def move(partner_id: int, city: str) -> None:
    from crm.partners.services import sync_search

    p = db.session.get(Partner, partner_id)
    p.city = city
    sync_search(p)
    db.session.commit()


def test_a_dynamic_segment_is_always_current(town):
    s = create_segment(None, "Москва", "dynamic", MOSCOW)
    db.session.commit()
    assert members(s) == [town["K1"], town["K2"]]
    move(town["K3"], "Москва")
    assert members(s) == [town["K1"], town["K2"], town["K3"]]
    assert db.session.execute(select(SegmentMember)).all() == []  # nothing stored


def test_a_periodic_refresh_records_who_entered_and_left_and_twice_changes_nothing(town):
    s = create_segment(None, "Москва раз в день", "periodic", MOSCOW, schedule="daily")
    db.session.commit()
    assert members(s) == [town["K1"], town["K2"]]
    first = db.session.execute(select(SegmentRefresh)).scalar_one()
    assert (first.members, first.entered, first.left) == (2, 2, 0)

    move(town["K2"], "Казань")
    move(town["K3"], "Москва")
    assert members(s) == [town["K1"], town["K2"]]  # stored: as of the last refresh
    record = refresh(s)
    db.session.commit()
    assert members(s) == [town["K1"], town["K3"]]
    assert (record.members, record.entered, record.left) == (2, 1, 1)
    changes = db.session.execute(
        select(SegmentChange.partner_id, SegmentChange.change).where(
            SegmentChange.refresh_id == record.id
        )
    ).all()
    assert sorted(changes) == sorted([(town["K3"], "entered"), (town["K2"], "left")])

    again = refresh(s)
    db.session.commit()
    assert (again.members, again.entered, again.left) == (2, 0, 0)
    assert members(s) == [town["K1"], town["K3"]]


def test_manual_members_by_hand_and_by_code(town):
    s = create_segment(None, "Звонить", "manual")
    ids, unknown = partner_ids_for_codes(["K1", " K3 ", "K9", ""])
    assert unknown == ["K9"]
    assert add_members(None, s, ids) == 2
    assert add_members(None, s, [town["K1"]]) == 0  # already in
    assert members(s) == [town["K1"], town["K3"]]
    assert remove_members(None, s, [town["K3"], town["K2"]]) == 1
    db.session.commit()
    assert members(s) == [town["K1"]]


def test_a_manual_segment_can_start_from_a_rule(town):
    s = create_segment(None, "Москва вручную", "manual", MOSCOW)
    db.session.commit()
    move(town["K3"], "Москва")
    assert members(s) == [town["K1"], town["K2"]]  # stored, not recomputed


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", "dynamic", MOSCOW), "name"),
        (("x" * 201, "dynamic", MOSCOW), "name"),
        (("Сегмент", "static", MOSCOW), "kind"),
        (("Сегмент", "dynamic", None), "rule"),
        (("Сегмент", "dynamic", {"type": "partner.sql"}), "rule"),
        (("Сегмент", "periodic", MOSCOW), "schedule"),
    ],
)
def test_bad_segments_are_refused_and_nothing_is_stored(town, args, field):
    with pytest.raises(DomainError) as caught:
        create_segment(None, *args)
    assert field in caught.value.field_errors
    db.session.rollback()
    assert db.session.execute(select(Segment)).all() == []


def test_a_name_is_taken_once(town):
    create_segment(None, "Москва", "dynamic", MOSCOW)
    db.session.commit()
    with pytest.raises(DomainError, match="exists"):
        create_segment(None, "Москва", "manual")


def test_refreshing_or_hand_editing_the_wrong_kind_is_refused(town):
    dynamic = create_segment(None, "Д", "dynamic", MOSCOW)
    with pytest.raises(DomainError, match="periodic"):
        refresh(dynamic)
    with pytest.raises(DomainError, match="manual"):
        add_members(None, dynamic, [town["K1"]])


def test_the_commands_create_list_and_refresh(town, runner, tmp_path):
    spec = tmp_path / "segment.json"
    spec.write_text(
        json.dumps({"name": "Москва", "kind": "periodic", "rule": MOSCOW, "schedule": "weekly"}),
        encoding="utf-8",
    )
    created = runner.invoke(args=["crm", "segments", "create", str(spec)])
    assert created.exit_code == 0, created.output
    listed = runner.invoke(args=["crm", "segments", "members", "Москва"])
    assert listed.exit_code == 0 and listed.output == "K1\nK2\n"
    move(town["K3"], "Москва")
    refreshed = runner.invoke(args=["crm", "segments", "refresh", "Москва"])
    assert refreshed.exit_code == 0, refreshed.output
    assert "3" in refreshed.output and "1" in refreshed.output
    assert runner.invoke(args=["crm", "segments", "members", "Москва"]).output == "K1\nK2\nK3\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "one JSON object"),
        ('{"name": "S", "kind": "dynamic", "rule": {"type": "nope"}}', "Unknown condition type"),
        ('{"name": "S", "kind": "dynamic", "rule": {"all": []}, "sql": "x"}', "Unknown fields"),
    ],
)
def test_the_create_command_refuses_a_bad_file_with_a_message(
    town, runner, tmp_path, content, message
):
    spec = tmp_path / "bad.json"
    spec.write_text(content, encoding="utf-8")
    result = runner.invoke(args=["crm", "segments", "create", str(spec)])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert db.session.execute(select(Segment)).all() == []


def test_members_of_an_unknown_segment_say_so(town, runner):
    result = runner.invoke(args=["crm", "segments", "members", "Нет такого"])
    assert result.exit_code != 0 and "No segment is named" in result.output


def test_a_merge_keeps_one_membership_and_moves_the_rest(town, make_user):
    """K1 and K2 both in «Оба»; only K2 in «Второй». Merging K2 into K1: K1 is in both, once."""
    from crm.partners.services import merge_partners

    admin = make_user(role="admin")
    both = create_segment(None, "Оба", "manual")
    second = create_segment(None, "Второй", "manual")
    add_members(None, both, [town["K1"], town["K2"]])
    add_members(None, second, [town["K2"]])
    db.session.commit()
    merge_partners(
        admin, db.session.get(Partner, town["K1"]), db.session.get(Partner, town["K2"]), {}
    )
    db.session.commit()
    assert members(both) == [town["K1"]]
    assert members(second) == [town["K1"]]


def test_membership_of_other_segments_stored_or_dynamic_and_not(town):
    from crm.segments.rules import RuleError, member_ids

    moscow = create_segment(None, "Москва", "dynamic", MOSCOW)
    chosen = create_segment(None, "Избранные", "manual")
    add_members(None, chosen, [town["K1"]])
    db.session.commit()
    in_moscow = {"type": "segment.member", "segments": [moscow.id]}
    in_chosen = {"type": "segment.member", "segments": [chosen.id]}
    assert member_ids(in_moscow) == [town["K1"], town["K2"]]
    assert member_ids({"all": [in_moscow, {"not": in_chosen}]}) == [town["K2"]]
    assert member_ids({"type": "segment.member", "segments": [moscow.id, chosen.id]}) == [
        town["K1"],
        town["K2"],
    ]
    with pytest.raises(RuleError, match="No segment has the id"):
        member_ids({"type": "segment.member", "segments": [999999]})


def test_a_segment_that_would_contain_itself_is_refused(town):
    from crm.segments.rules import RuleError

    a = create_segment(None, "А", "dynamic", MOSCOW)
    b = create_segment(None, "Б", "dynamic", {"type": "segment.member", "segments": [a.id]})
    a.rule = {"any": [MOSCOW, {"type": "segment.member", "segments": [b.id]}]}
    db.session.commit()
    with pytest.raises(RuleError, match="cannot contain itself") as caught:
        members(a)
    assert caught.value.path == "any[1]"
