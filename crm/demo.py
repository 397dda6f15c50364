"""Realistic demo data: users of every role, then each domain's step (partners, sales,
interactions…), which the domains add with `register_demo_step`, so `crm demo` grows with them
and this module imports none of them.
"""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from faker import Faker
from flask import current_app
from sqlalchemy import func, select

from crm.auth.models import User
from crm.auth.services import create_user
from crm.core.registry import RegistryKey
from crm.extensions import db

# The logins of each demo language (`crm demo --language ru|en`): the same e-mails and roles.
DEMO_USERS = {
    "ru": [
        ("admin@demo.crm", "admin", "Анна Админова"),
        ("ivanov@demo.crm", "manager", "Иван Иванов"),
        ("petrova@demo.crm", "manager", "Мария Петрова"),
        ("smith@demo.crm", "manager", "Сергей Смирнов"),
        ("marketer@demo.crm", "marketer", "Ольга Маркова"),
        ("viewer@demo.crm", "viewer", "Виктор Зорин"),
    ],
    "en": [
        ("admin@demo.crm", "admin", "Anna Admin"),
        ("ivanov@demo.crm", "manager", "Ivan Ivanov"),
        ("petrova@demo.crm", "manager", "Maria Petrova"),
        ("smith@demo.crm", "manager", "John Smith"),
        ("marketer@demo.crm", "marketer", "Olga Marks"),
        ("viewer@demo.crm", "viewer", "Victor Viewer"),
    ],
}
FAKER_LOCALES = {"ru": "ru_RU", "en": "en_GB"}


def database_is_empty() -> bool:
    return db.session.execute(select(func.count(User.id))).scalar_one() == 0


@dataclass(frozen=True)
class DemoStep:
    order: int
    # func(fake: Faker, rng: random.Random, users: list[User], *, n_partners: int, language: str)
    run: Callable


DEMO_STEPS: RegistryKey[DemoStep] = RegistryKey("crm.demo_steps")


def register_demo_step(state_or_app, order: int, func) -> None:
    """Add a domain's step to `crm demo`; steps run in `order`: partners 10, sales 30,
    interactions 40. `func(fake, rng, users, *, n_partners, language)` adds that domain's data
    (to what an earlier run left, when there is some); `fake` is a Faker of the demo's
    language ("ru" or "en"), whose texts the step uses too."""
    DEMO_STEPS.register(state_or_app, DemoStep(order, func))


def load_demo(
    n_partners: int = 300, seed: int = 42, language: str = "ru"
) -> list[tuple[str, str, str]]:
    """Create the demo users and data in `language` ("ru": Russian names, companies, cities,
    +7 phones; "en": English ones); returns (email, role, password) of each login."""
    if language not in DEMO_USERS:
        raise ValueError(f"no demo in {language!r}: choose one of {', '.join(DEMO_USERS)}")
    rng = random.Random(seed)
    Faker.seed(seed)
    fake = Faker(FAKER_LOCALES[language])
    logins, users = [], []
    for email, role, name in DEMO_USERS[language]:
        user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        password = secrets.token_urlsafe(9)
        if user is None:
            user = create_user(None, email, role, name=name, password=password)
            user.locale = language
        else:
            user.set_password(password)
        users.append(user)
        logins.append((email, role, password))
    db.session.commit()
    for step in DEMO_STEPS.of():
        step.run(fake, rng, users, n_partners=n_partners, language=language)
    db.session.commit()
    _save_logins(logins)
    return logins


def _save_logins(logins) -> None:
    """Keep the demo logins in the instance folder so `make run` can show them again."""
    path = Path(current_app.instance_path) / "demo_logins.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        for email, role, password in logins:
            fh.write(f"{role:<9} {email:<28} password: {password}\n")
