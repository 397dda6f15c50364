"""`flask --app app crm …`: creating users, loading demo data, rebuilding the search index."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select, update

from crm.auth.models import User
from crm.extensions import db
from crm.partners.models import ContactPerson, Partner
from tests.conftest import _clean_tables

PASSWORD = "long-enough-password-1"
LOGIN_LINE = re.compile(r"^\s+(\w+)\s+(\S+@\S+)\s+password: (\S+)$", re.M)


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _signs_in(client, email: str, password: str) -> bool:
    response = client.post("/auth/login", data={"email": email, "password": password})
    client.post("/auth/logout")
    return response.status_code == 302


def _demo(runner, *args: str):
    result = runner.invoke(args=["crm", "demo", *args])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result


def _partner_names() -> list[str]:
    return list(db.session.execute(select(Partner.name).order_by(Partner.code)).scalars())


# --- users create ------------------------------------------------------------------------


def test_users_create_makes_a_user_who_can_sign_in(runner, client):
    result = runner.invoke(
        args=[
            "crm",
            "users",
            "create",
            " Olga.Sidorova@Example.TEST ",
            "--role",
            "manager",
            "--password",
            PASSWORD,
            "--name",
            "Ольга Сидорова",
        ]
    )

    assert result.exit_code == 0, result.output
    assert result.output == "User olga.sidorova@example.test (manager) is created.\n"
    user = db.session.execute(select(User)).scalar_one()
    assert (user.email, user.role, user.name) == (
        "olga.sidorova@example.test",
        "manager",
        "Ольга Сидорова",
    )
    assert _signs_in(client, "olga.sidorova@example.test", PASSWORD)
    assert not _signs_in(client, "olga.sidorova@example.test", PASSWORD + "x")


def test_users_create_asks_for_the_password_twice(runner, client):
    result = runner.invoke(
        args=["crm", "users", "create", "viewer@example.test", "--role", "viewer"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden input
    assert _signs_in(client, "viewer@example.test", PASSWORD)


def test_users_create_with_a_taken_email_exits_1(runner, make_user):
    make_user("admin", email="boss@example.test")

    result = runner.invoke(
        args=[
            "crm",
            "users",
            "create",
            "BOSS@example.test",
            "--role",
            "manager",
            "--password",
            PASSWORD,
        ]
    )

    assert result.exit_code == 1
    assert result.stderr == "Error: A user with this e-mail exists.\n"
    assert _count(User) == 1
    assert db.session.execute(select(User.role)).scalar_one() == "admin"


def test_users_create_with_a_short_password_exits_1(runner):
    result = runner.invoke(
        args=["crm", "users", "create", "x@example.test", "--role", "viewer", "--password", "short"]
    )

    assert result.exit_code == 1
    assert "The password must have at least" in result.stderr
    assert _count(User) == 0


# --- demo -------------------------------------------------------------------------------


def test_demo_creates_users_of_every_role_partners_and_contacts(app, runner, client):
    result = _demo(runner, "--partners", "30", "--seed", "1")

    logins = LOGIN_LINE.findall(result.output)
    assert {role for role, _, _ in logins} == {"admin", "manager", "marketer", "viewer"}
    users = dict(db.session.execute(select(User.email, User.role)).all())
    assert {email: role for role, email, _ in logins} == users
    codes = list(db.session.execute(select(Partner.code)).scalars())
    assert len([c for c in codes if not c.endswith("-DUP")]) == 30
    assert len([c for c in codes if c.endswith("-DUP")]) == 3  # near-duplicates to merge
    assert _count(ContactPerson) > 0
    assert (
        db.session.execute(select(func.count()).where(Partner.search_text == "")).scalar_one() == 0
    )
    for _, email, password in logins:
        assert _signs_in(client, email, password), email
    saved = (Path(app.instance_path) / "demo_logins.txt").read_text()
    assert LOGIN_LINE.findall("\n".join("  " + line for line in saved.splitlines())) == logins


def test_demo_if_empty_loads_once_then_does_nothing(runner, client):
    first = _demo(runner, "--partners", "30", "--seed", "1", "--if-empty")
    counts = (_count(User), _count(Partner), _count(ContactPerson))
    assert counts[1] == 33

    second = _demo(runner, "--partners", "30", "--seed", "1", "--if-empty")

    assert second.output.startswith("Demo data not loaded: the database has users already.\n")
    # `make run` calls it on every start: it shows the first run's logins again.
    assert LOGIN_LINE.findall(second.output) == LOGIN_LINE.findall(first.output)
    assert (_count(User), _count(Partner), _count(ContactPerson)) == counts
    _, email, password = LOGIN_LINE.findall(first.output)[0]
    assert _signs_in(client, email, password)  # the passwords were not changed either


def test_demo_with_the_same_seed_gives_the_same_partners(app, runner):
    _demo(runner, "--partners", "30", "--seed", "1")
    first = _partner_names()
    db.session.remove()
    _clean_tables(app)

    _demo(runner, "--partners", "30", "--seed", "1")
    again = _partner_names()
    db.session.remove()
    _clean_tables(app)
    _demo(runner, "--partners", "30", "--seed", "2")

    assert len(first) == 33
    assert again == first
    assert _partner_names() != first


def test_demo_run_again_adds_partners_and_new_logins(runner, client):
    first = _demo(runner, "--partners", "30", "--seed", "1")
    names = _partner_names()

    second = _demo(runner, "--partners", "30", "--seed", "1")

    codes = list(db.session.execute(select(Partner.code)).scalars())
    assert len(codes) == len(set(codes)) == 66
    assert _count(User) == 6
    assert sorted(_partner_names()) == sorted(names * 2)
    (_, email, old), (_, email2, new) = (LOGIN_LINE.findall(r.output)[0] for r in (first, second))
    assert email == email2
    assert _signs_in(client, email, new)
    assert not _signs_in(client, email, old)


# --- reindex ----------------------------------------------------------------------------


def test_reindex_rebuilds_the_search_columns(runner, make_partner):
    make_partner(name="ООО Ромашка", emails=["info@romashka.example"])
    expected = db.session.execute(select(Partner.search_text)).scalar_one()
    db.session.execute(update(Partner).values(search_text=""))
    db.session.commit()

    result = runner.invoke(args=["crm", "reindex"])

    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"Job \d+: done\n", result.output)
    db.session.expire_all()
    assert db.session.execute(select(Partner.search_text)).scalar_one() == expected


# --- demo languages ----------------------------------------------------------------------

CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def test_the_demo_is_russian_by_default(runner):
    from crm.interactions.models import Interaction
    from crm.partners.models import ContactDetail

    _demo(runner, "--partners", "30", "--seed", "3")
    names = _partner_names()
    assert len(names) >= 30
    # Every generated partner (near-duplicates are copies of them) has a Russian name.
    assert all(CYRILLIC.search(n) for n in names)
    cities = db.session.execute(select(Partner.city).where(Partner.city != "")).scalars().all()
    assert cities and all(CYRILLIC.search(c) for c in cities)
    phones = db.session.execute(
        select(ContactDetail.value).where(ContactDetail.kind == "phone")
    ).scalars()
    assert all(p.startswith("+7") for p in phones)
    users = db.session.execute(select(User)).scalars().all()
    assert {u.locale for u in users} == {"ru"}
    assert all(CYRILLIC.search(u.name) for u in users)
    titles = (
        db.session.execute(select(Interaction.title).where(Interaction.title != "")).scalars().all()
    )
    assert titles and all(CYRILLIC.search(t) for t in titles)


def test_the_english_demo_is_available_by_a_flag(runner):
    _demo(runner, "--partners", "30", "--seed", "3", "--language", "en")
    names = _partner_names()
    assert names and not any(CYRILLIC.search(n) for n in names)
    users = db.session.execute(select(User)).scalars().all()
    assert {u.locale for u in users} == {"en"}
    assert not any(CYRILLIC.search(u.name) for u in users)


def test_an_unknown_demo_language_is_refused(runner):
    result = runner.invoke(args=["crm", "demo", "--language", "de"])
    assert result.exit_code == 2 and "'de' is not one of 'ru', 'en'" in result.output
    assert _count(User) == 0
