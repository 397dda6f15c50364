"""The `crm demo` step of partners: partners (Russian and English), contact details, contact
persons, tags, and a few near-duplicates to try merging on."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta

from faker import Faker
from sqlalchemy import select

from crm.core import audit
from crm.core.policy import may
from crm.core.text import fold
from crm.extensions import db
from crm.partners.models import ContactPerson, Partner
from crm.partners.services import new_contact_detail, sync_search, tags_by_name

MESSENGERS = ["Telegram", "WhatsApp", "Viber", "Skype"]
# Per demo language (`crm demo --language`): Faker's locale, tags, call times, phone numbers.
LANGUAGES = {
    "ru": {
        "faker": "ru_RU",
        "tags": ["VIP", "Опт", "Розница", "Дилер", "Ключевой клиент", "Новый", "Экспорт", "Госзаказ"],
        "times": ["", "", "9:00–12:00", "после обеда", "до 18:00 МСК", "не звонить в пятницу"],
        "phone": "+7 9## ###-##-##",  # a Russian mobile
    },
    "en": {
        "faker": "en_GB",
        "tags": ["VIP", "Wholesale", "Retail", "Dealer", "Key account", "New", "Export", "Public sector"],
        "times": ["", "", "9:00–12:00", "afternoons", "before 6 pm", "not on Fridays"],
        "phone": "+44 7### ######",  # a UK mobile
    },
}  # fmt: skip


def make_partners_demo(
    fake: Faker, rng: random.Random, users, *, n_partners: int, language: str = "ru"
) -> None:
    """`n_partners` partners of the demo's language (`fake` speaks it); their codes go on after
    the ones taken."""
    texts = LANGUAGES[language]
    managers = [u for u in users if may(u, "records.own")]
    tags = tags_by_name(texts["tags"])
    # A second run adds partners: their codes go on after the ones taken.
    taken = set(
        db.session.execute(select(Partner.code).where(Partner.code.like("DEMO-%"))).scalars()
    )
    numbers = (n for n in itertools.count(1) if f"DEMO-{n:05d}" not in taken)
    created = []
    for i in range(n_partners):
        partner = _make_partner(fake, rng, next(numbers), managers, tags, texts)
        db.session.add(partner)
        created.append(partner)
        if i % 200 == 199:
            db.session.flush()
    db.session.flush()
    _add_near_duplicates(created)
    for partner in db.session.execute(select(Partner).where(Partner.search_text == "")).scalars():
        sync_search(partner)
        audit.record(None, "create", partner, summary="created by demo data")


def _phone(fake: Faker, texts: dict) -> str:
    """A mobile number the CRM's own checks accept (Faker's own numbers such as
    "001-479-595-5302x45301" are not phone numbers for them, so an export of the demo data
    would not import back)."""
    return fake.numerify(texts["phone"])


def _make_partner(
    fake: Faker, rng: random.Random, number: int, managers, tags, texts: dict
) -> Partner:
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
        best_time_to_call=rng.choice(texts["times"]),
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
        new_contact_detail("email", f"{fake.user_name()}@{domain}", is_main=True),
        new_contact_detail("phone", _phone(fake, texts), is_main=True),
        new_contact_detail(
            "address", fake.address().replace("\n", ", "), label="legal", is_main=True
        ),
    ]
    if rng.random() < 0.4:
        p.contact_details.append(new_contact_detail("phone", _phone(fake, texts), label="office"))
    if rng.random() < 0.3:
        p.contact_details.append(
            new_contact_detail(
                "messenger", "@" + fake.user_name(), label=rng.choice(MESSENGERS), is_main=True
            )
        )
    if rng.random() < 0.5:
        p.contact_details.append(new_contact_detail("website", domain, is_main=True))
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
                new_contact_detail("email", f"{fake.user_name()}@{domain}", is_main=True),
                new_contact_detail("phone", _phone(fake, texts), is_main=True),
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
            twin.contact_details = [new_contact_detail("email", email.value.upper(), is_main=True)]
        db.session.add(twin)
    db.session.flush()
