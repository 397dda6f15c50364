"""The permission policy, as a table: every role × action × ownership case, written out by hand
from what the app allows (the access tests of each domain check the same through its pages).
A rule added without a row here fails `test_every_registered_action_is_in_a_table`; a role
string compared outside the domains' policy modules fails the last test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from crm.core.policy import actions, may, rows_clause, visible
from crm.extensions import db
from crm.interactions.models import Interaction
from crm.partners.models import Partner

ROLES = ("admin", "manager", "marketer", "viewer")
T, F = True, False

# Actions on no record: role → allowed.
#                          admin manager marketer viewer
ROLE_ONLY = {
    "app.write": (T, T, T, F),
    "users.manage": (T, F, F, F),
    "records.own": (T, T, F, F),
    "records.assign": (T, F, F, F),
    "exchange.use": (T, F, F, F),
    "api.write": (T, T, F, F),
    "api.write_shared": (T, F, F, F),
    "partner.create": (T, T, F, F),
    "interaction.create": (T, T, F, F),
    "calendar.view_others": (T, F, T, T),
    "dashboard.view_others": (T, F, T, T),
    "deal.create": (T, T, F, F),
    "deal.delete": (T, F, F, F),
    "deal.classifiers": (T, F, F, F),
    "deal.reports": (T, T, T, T),
    "analytics.reports": (T, T, T, T),
    "analytics.plan_calls": (T, T, T, F),
    "analytics.recompute": (T, F, T, F),
    "product.view": (T, T, T, T),
    "segments.view": (T, T, T, T),
    "segments.create": (T, T, T, F),
    "messaging.view": (T, T, T, T),
    "messaging.edit": (T, F, T, F),
    "messaging.send": (T, F, T, F),
    "messaging.settings": (T, F, T, F),
    # On a partner's addresses; the views check first that the user may see the partner.
    "messaging.consent": (T, T, T, F),
}

# Actions on a partner: (role, action) → allowed for (his own, another's, nobody's) partner.
PARTNER = {
    ("admin", "partner.view"): (T, T, T),
    ("admin", "partner.edit"): (T, T, T),
    ("admin", "partner.delete"): (T, T, T),
    ("manager", "partner.view"): (T, F, F),
    ("manager", "partner.edit"): (T, F, F),
    ("manager", "partner.delete"): (F, F, F),
    ("marketer", "partner.view"): (T, T, T),
    ("marketer", "partner.edit"): (F, F, F),
    ("marketer", "partner.delete"): (F, F, F),
    ("viewer", "partner.view"): (T, T, T),
    ("viewer", "partner.edit"): (F, F, F),
    ("viewer", "partner.delete"): (F, F, F),
}

# The same with MANAGERS_SEE_ALL_PARTNERS on: only the manager's row changes.
PARTNER_SEE_ALL = {
    **PARTNER,
    ("manager", "partner.view"): (T, T, T),
    ("manager", "partner.edit"): (T, T, T),
}

# Actions on an interaction: (role, action) → allowed for one he is responsible for, one he
# takes part in, and another's.
INTERACTION = {
    ("admin", "interaction.view"): (T, T, T),
    ("admin", "interaction.edit"): (T, T, T),
    ("manager", "interaction.view"): (T, T, F),
    ("manager", "interaction.edit"): (T, F, F),
    ("marketer", "interaction.view"): (T, T, T),
    ("marketer", "interaction.edit"): (F, F, F),
    ("viewer", "interaction.view"): (T, T, T),
    ("viewer", "interaction.edit"): (F, F, F),
}

# Actions on a deal: (role, action) → allowed for one he is responsible for, one he takes part
# in, and another's.
DEAL = {
    ("admin", "deal.view"): (T, T, T),
    ("admin", "deal.move"): (T, T, T),
    ("admin", "deal.edit"): (T, T, T),
    ("manager", "deal.view"): (T, T, F),
    ("manager", "deal.move"): (T, T, F),
    ("manager", "deal.edit"): (T, F, F),
    ("marketer", "deal.view"): (T, T, T),
    ("marketer", "deal.move"): (F, F, F),
    ("marketer", "deal.edit"): (F, F, F),
    ("viewer", "deal.view"): (T, T, T),
    ("viewer", "deal.move"): (F, F, F),
    ("viewer", "deal.edit"): (F, F, F),
}

# Actions on a segment: (role, action) → allowed for a segment he owns, one a colleague owns.
SEGMENT = {
    ("admin", "segments.edit"): (T, T),
    ("manager", "segments.edit"): (T, F),
    ("marketer", "segments.edit"): (T, T),
    ("viewer", "segments.edit"): (F, F),
}


def test_every_registered_action_is_in_a_table(app):
    in_tables = set(ROLE_ONLY) | {
        a for table in (PARTNER, INTERACTION, DEAL, SEGMENT) for _, a in table
    }
    assert set(actions(app)) == in_tables


def test_every_table_lists_every_role():
    assert all(len(row) == len(ROLES) for row in ROLE_ONLY.values())
    for table in (PARTNER, INTERACTION, DEAL, SEGMENT):
        assert {role for role, _ in table} == set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_actions_on_no_record_follow_the_role(app, make_user, role):
    user = make_user(role)
    got = {action: may(user, action) for action in ROLE_ONLY}
    expected = {action: row[ROLES.index(role)] for action, row in ROLE_ONLY.items()}
    assert got == expected


@pytest.fixture
def partners(make_user, make_partner):
    """A user of each role, and for each one partner of his own; one of another manager; one
    of nobody."""

    def make(role):
        user = make_user(role)
        other = make_user("manager")
        own = make_partner(name="Own", responsible=user)
        others = make_partner(name="Others", responsible=other)
        nobodys = make_partner(name="Nobodys", responsible=None)
        return user, (own, others, nobodys)

    return make


def _partner_outcomes(user, records, table_role) -> dict:
    return {
        action: tuple(may(user, action, p) for p in records)
        for (role, action) in PARTNER
        if role == table_role
    }


@pytest.mark.parametrize("role", ROLES)
def test_partner_actions_by_role_and_ownership(app, partners, role):
    user, records = partners(role)
    expected = {action: row for (r, action), row in PARTNER.items() if r == role}
    assert _partner_outcomes(user, records, role) == expected


@pytest.mark.parametrize("role", ROLES)
def test_managers_see_all_setting_changes_only_the_managers_partner_rights(app, partners, role):
    app.config["MANAGERS_SEE_ALL_PARTNERS"] = True
    user, records = partners(role)
    expected = {action: row for (r, action), row in PARTNER_SEE_ALL.items() if r == role}
    assert _partner_outcomes(user, records, role) == expected


@pytest.mark.parametrize("role", ROLES)
def test_visible_partner_rows_match_who_may_view(app, partners, role):
    user, records = partners(role)
    expected = {
        p.name for p, seen in zip(records, PARTNER[(role, "partner.view")], strict=True) if seen
    }
    names = set(db.session.execute(visible(user, Partner, select(Partner.name))).scalars())
    assert names == expected


def test_a_merged_partner_is_seen_by_whoever_sees_the_partner_it_went_into(
    app, make_user, make_partner
):
    manager, colleague = make_user("manager"), make_user("manager")
    into_own = make_partner(name="Survivor", responsible=manager)
    into_other = make_partner(name="Theirs", responsible=colleague)
    # Pointers keep their old responsible: it is the survivor's that counts.
    merged_to_own = make_partner(name="Old 1", responsible=colleague, merged_into_id=into_own.id)
    merged_to_other = make_partner(name="Old 2", responsible=manager, merged_into_id=into_other.id)
    assert may(manager, "partner.view", merged_to_own) is True
    assert may(manager, "partner.view", merged_to_other) is False


@pytest.fixture
def interactions(make_user, make_interaction):
    """A user of each role with an interaction he is responsible for, one of a colleague he
    takes part in, and one of a colleague alone."""

    def make(role):
        user = make_user(role)
        colleague = make_user("manager")
        own = make_interaction(user, title="Own")
        taking_part = make_interaction(colleague, title="Taking part", participants=[user])
        others = make_interaction(colleague, title="Others")
        return user, (own, taking_part, others)

    return make


@pytest.mark.parametrize("role", ROLES)
def test_interaction_actions_by_role_and_ownership(app, interactions, role):
    user, records = interactions(role)
    got = {
        action: tuple(may(user, action, i) for i in records)
        for (r, action) in INTERACTION
        if r == role
    }
    expected = {action: row for (r, action), row in INTERACTION.items() if r == role}
    assert got == expected


@pytest.mark.parametrize("role", ROLES)
def test_visible_interaction_rows_match_who_may_view(app, interactions, role):
    user, records = interactions(role)
    seen = INTERACTION[(role, "interaction.view")]
    expected = {i.title for i, ok in zip(records, seen, strict=True) if ok}
    stmt = visible(user, Interaction, select(Interaction.title))
    assert set(db.session.execute(stmt).scalars()) == expected


@pytest.fixture
def deals(make_user, make_partner, make_deal_kind, make_deal):
    """A user of each role with a deal he is responsible for, one of a colleague he takes
    part in, and one of a colleague alone."""

    def make(role):
        user, colleague = make_user(role), make_user("manager")
        kind, partner = make_deal_kind(), make_partner()
        own = make_deal(partner, kind, manager=user, title="Own")
        taking_part = make_deal(
            partner, kind, manager=colleague, participants=[user], title="Taking part"
        )
        others = make_deal(partner, kind, manager=colleague, title="Others")
        return user, (own, taking_part, others)

    return make


@pytest.mark.parametrize("role", ROLES)
def test_deal_actions_by_role_and_ownership(app, deals, role):
    from crm.deals.models import Deal

    user, records = deals(role)
    got = {
        action: tuple(may(user, action, d) for d in records) for (r, action) in DEAL if r == role
    }
    assert got == {action: row for (r, action), row in DEAL.items() if r == role}
    expected = {d.title for d, ok in zip(records, DEAL[(role, "deal.view")], strict=True) if ok}
    stmt = visible(user, Deal, select(Deal.title))
    assert set(db.session.execute(stmt).scalars()) == expected


@pytest.mark.parametrize("role", ROLES)
def test_segment_actions_by_role_and_ownership(app, make_user, role):
    from crm.segments.models import Segment

    user, colleague = make_user(role), make_user("manager")
    own = Segment(name="Own", kind="manual", owner_id=user.id)
    others = Segment(name="Others", kind="manual", owner_id=colleague.id)
    got = {a: tuple(may(user, a, s) for s in (own, others)) for (r, a) in SEGMENT if r == role}
    assert got == {a: row for (r, a), row in SEGMENT.items() if r == role}


def test_no_one_signed_in_may_do_anything(app):
    nobody = AnonymousUserMixin()
    assert not any(may(nobody, action) for action in actions(app))
    assert not any(may(None, action) for action in actions(app))


def test_an_action_nobody_registered_is_an_error_not_a_refusal(app, make_user):
    # A typo in an action name must not quietly hide a button or open a door.
    with pytest.raises(LookupError):
        may(make_user("admin"), "partner.edti")
    with pytest.raises(LookupError):
        rows_clause(make_user("admin"), object)


# --- no role strings outside the policy ----------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
ROLE_NAMES = "admin|manager|marketer|viewer"
ROLE_COMPARISONS = [
    # user.role == …, current_user.role in …, actor.role != … (flt.role is a partner's role)
    re.compile(r"\b(\w*user|actor|u)\.role\s*(==|!=|\bnot\s+in\b|\bin\b)"),
    re.compile(r"\.role\.in_\("),  # SQL: User.role.in_(…)
    re.compile(rf"\brole\s*(==|!=|\bnot\s+in\b|\bin\b)\s*[\(\[\{{]?\s*[\"']({ROLE_NAMES})[\"']"),
    re.compile(rf"\bin\s*[\(\[\{{]\s*[\"']({ROLE_NAMES})[\"']"),  # … in ("admin", …)
]


def _role_comparisons(path: Path) -> list[str]:
    found = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if any(p.search(line) for p in ROLE_COMPARISONS):
            found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    return found


def test_no_view_service_query_or_template_compares_role_strings():
    """Only the domains' policy.py modules name roles in a condition; everything else asks
    `may(...)`, `rows_clause(...)` or `visible(...)`."""
    files = [p for p in (ROOT / "crm").rglob("*.py") if p.name != "policy.py"]
    files += list((ROOT / "templates").rglob("*.html"))
    found = [hit for path in sorted(files) for hit in _role_comparisons(path)]
    assert found == []


# --- the menu ------------------------------------------------------------------------------

# Menu links to pages that need an action: the role → shown, as ROLE_ONLY says.
GATED_MENU = {"Users": "users.manage", "Data exchange": "exchange.use"}


@pytest.mark.parametrize("role", ROLES)
def test_the_menu_shows_a_gated_page_only_to_who_may_open_it(app, login_as, client, role):
    login_as(role)
    page = client.get("/partners/").get_data(as_text=True)
    menu = page[page.index("<nav") : page.index("</nav>")]
    shown = {title: f">{title}<" in menu for title in GATED_MENU}
    expected = {title: ROLE_ONLY[action][ROLES.index(role)] for title, action in GATED_MENU.items()}
    assert shown == expected
    # …and the link it shows opens (the one it hides would answer 403).
    for title, allowed in expected.items():
        url = {"Users": "/auth/users", "Data exchange": "/exchange/"}[title]
        assert client.get(url).status_code == (200 if allowed else 403)
