"""Realistic demo data: users of every role, partners (Russian and English), contacts, tags.

Later domains add their own steps with `register_demo_step`, so `crm demo` grows with them.
"""

from __future__ import annotations

import itertools
import os
import random
import secrets
from datetime import date, timedelta
from pathlib import Path

from faker import Faker
from flask import current_app
from sqlalchemy import func, select

from crm.auth.models import User
from crm.auth.services import create_user
from crm.core import audit
from crm.core.policy import may
from crm.core.text import fold
from crm.extensions import db
from crm.partners.models import ContactPerson, Partner
from crm.partners.services import _detail, sync_search, tags_by_name

DEMO_USERS = [
    ("admin@demo.crm", "admin", "Анна Администраторова"),
    ("ivanov@demo.crm", "manager", "Иван Иванов"),
    ("petrova@demo.crm", "manager", "Мария Петрова"),
    ("smith@demo.crm", "manager", "John Smith"),
    ("marketer@demo.crm", "marketer", "Ольга Маркетова"),
    ("viewer@demo.crm", "viewer", "Viktor Viewer"),
]
TAGS = ["VIP", "Опт", "Розница", "Дилер", "Key account", "Новый", "Export", "Госзаказ"]
MESSENGERS = ["Telegram", "WhatsApp", "Viber", "Skype"]
TIMES = ["", "", "9:00–12:00", "после обеда", "afternoons", "до 18:00 МСК"]


def database_is_empty() -> bool:
    return db.session.execute(select(func.count(User.id))).scalar_one() == 0


def _demo_steps(app) -> list:
    return app.extensions.setdefault("crm.demo_steps", [])


def register_demo_step(state_or_app, order: int, func) -> None:
    """`func(fake: Faker, rng: random.Random, users: list[User])`, run after the partners."""
    app = getattr(state_or_app, "app", state_or_app)
    _demo_steps(app).append((order, func))


def load_demo(n_partners: int = 300, seed: int = 42) -> list[tuple[str, str, str]]:
    """Create the demo users and data; returns (email, role, password) of each login."""
    rng = random.Random(seed)
    Faker.seed(seed)
    fake_ru, fake_en = Faker("ru_RU"), Faker("en_US")
    logins, users = [], []
    for email, role, name in DEMO_USERS:
        user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        password = secrets.token_urlsafe(9)
        if user is None:
            user = create_user(None, email, role, name=name, password=password)
        else:
            user.set_password(password)
        users.append(user)
        logins.append((email, role, password))
    db.session.commit()
    managers = [u for u in users if may(u, "records.own")]
    tags = tags_by_name(TAGS)
    # A second run adds partners: their codes go on after the ones taken.
    taken = set(
        db.session.execute(select(Partner.code).where(Partner.code.like("DEMO-%"))).scalars()
    )
    numbers = (n for n in itertools.count(1) if f"DEMO-{n:05d}" not in taken)
    created = []
    for i in range(n_partners):
        fake = fake_ru if rng.random() < 0.7 else fake_en
        partner = _make_partner(fake, rng, next(numbers), managers, tags)
        db.session.add(partner)
        created.append(partner)
        if i % 200 == 199:
            db.session.flush()
    db.session.flush()
    _add_near_duplicates(created)
    for partner in db.session.execute(select(Partner).where(Partner.search_text == "")).scalars():
        sync_search(partner)
        audit.record(None, "create", partner, summary="created by demo data")
    for _, step in sorted(_demo_steps(current_app), key=lambda s: s[0]):
        step(fake_ru, rng, users)
    db.session.commit()
    _save_logins(logins)
    return logins


def _phone(fake: Faker) -> str:
    """A mobile number the CRM's own checks accept (Faker's en_US numbers such as
    "001-479-595-5302x45301" are not phone numbers for them, so an export of the demo data
    would not import back)."""
    return fake.numerify("+7 9## ###-##-##")


def _make_partner(fake: Faker, rng: random.Random, number: int, managers, tags) -> Partner:
    is_person = rng.random() < 0.2
    name = fake.name() if is_person else fake.company()
    created = date.today() - timedelta(days=rng.randint(0, 5 * 365))
    p = Partner(
        code=f"DEMO-{number:05d}",
        name=name,
        kind="person" if is_person else "company",
        is_client=rng.random() < 0.85,
        is_supplier=rng.random() < 0.15,
        is_competitor=rng.random() < 0.03,
        inn="".join(rng.choice("0123456789") for _ in range(12 if is_person else 10)),
        city=fake.city_name() if hasattr(fake, "city_name") else fake.city(),
        responsible_id=rng.choice(managers).id if rng.random() < 0.95 else None,
        notes=fake.sentence(nb_words=12) if rng.random() < 0.4 else "",
        preferred_channel=rng.choice(["", "", "email", "phone", "messenger", "meeting"]),
        best_time_to_call=rng.choice(TIMES),
        do_not_email=rng.random() < 0.05,
        do_not_call=rng.random() < 0.05,
        do_not_sms=rng.random() < 0.1,
        created_on=created,
    )
    if not p.is_client and not p.is_supplier and not p.is_competitor:
        p.is_other = True
    p.tags = rng.sample(tags, k=rng.choice([0, 0, 1, 1, 2]))
    domain = fake.domain_name()
    p.contact_details = [
        _detail("email", f"{fake.user_name()}@{domain}", is_main=True),
        _detail("phone", _phone(fake), is_main=True),
        _detail("address", fake.address().replace("\n", ", "), label="legal", is_main=True),
    ]
    if rng.random() < 0.4:
        p.contact_details.append(_detail("phone", _phone(fake), label="office"))
    if rng.random() < 0.3:
        p.contact_details.append(
            _detail("messenger", "@" + fake.user_name(), label=rng.choice(MESSENGERS), is_main=True)
        )
    if rng.random() < 0.5:
        p.contact_details.append(_detail("website", domain, is_main=True))
    if not is_person:
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            person = ContactPerson(
                name=fake.name(),
                position=fake.job()[:200],
                birthday=fake.date_of_birth(minimum_age=22, maximum_age=65)
                if rng.random() < 0.7
                else None,
            )
            person.name_norm = fold(person.name)
            person.contact_details = [
                _detail("email", f"{fake.user_name()}@{domain}", is_main=True),
                _detail("phone", _phone(fake), is_main=True),
            ]
            # One person of a name per partner (a unique key): a namesake Faker drew is left out.
            if all(c.name_norm != person.name_norm for c in p.contact_persons):
                p.contact_persons.append(person)
    return p


def _add_near_duplicates(created: list[Partner]) -> None:
    """A few partners entered twice with small differences, to try duplicate merge on.
    Only this run's partners are copied: an earlier run's have their "-DUP" twins already."""
    originals = [p for p in created if p.kind == "company"][:3]
    for n, original in enumerate(originals, start=1):
        twin = Partner(
            code=f"{original.code}-DUP",
            name=original.name.upper() if n % 2 else original.name + " ",
            kind="company",
            city=original.city,
            inn=original.inn if n == 3 else "",
            responsible_id=original.responsible_id,
        )
        twin.name = twin.name.strip()
        email = next((d for d in original.contact_details if d.kind == "email"), None)
        if email is not None:
            twin.contact_details = [_detail("email", email.value.upper(), is_main=True)]
        db.session.add(twin)
    db.session.flush()


def _save_logins(logins) -> None:
    """Keep the demo logins in the instance folder so `make run` can show them again."""
    path = Path(current_app.instance_path) / "demo_logins.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        for email, role, password in logins:
            fh.write(f"{role:<9} {email:<28} password: {password}\n")
