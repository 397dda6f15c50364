"""Recording and editing interactions through the form, the phone log form, and the errors a
user can make: a message next to the field, status 422, nothing written."""

from __future__ import annotations

import html
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from crm.core.models import AuditEntry
from crm.extensions import db
from crm.interactions.models import Interaction, Participant
from tests.interactions.helpers import form, stored
from tests.partners.helpers import HX, count, field_errors, fresh, text


def page_errors(response) -> list[str]:
    """Every field message on a form page, unescaped."""
    found = re.findall(r'<div class="invalid-feedback d-block">(.*?)</div>', text(response), re.S)
    return [html.unescape(e.strip()) for e in found]


@pytest.fixture
def desk(app, login_as, make_user, make_partner):
    """A manager (in Moscow, UTC+3) signed in, his partner with a contact person, a colleague
    and the colleague's partner with a person of its own."""
    manager = login_as("manager", name="Мария")
    colleague = make_user("manager", name="Пётр")
    own = make_partner(
        name="Ромашка",
        responsible=manager,
        phones=["+79123456789"],
        persons=[{"name": "Иван Петров", "phone": "+79001112233"}],
    )
    other = make_partner(name="Лютик", responsible=colleague, persons=[{"name": "Ольга Лютикова"}])
    return {
        "manager": manager,
        "colleague": colleague,
        "own": own,
        "other": other,
        "person": own.contact_persons[0],
        "other_person": other.contact_persons[0],
    }


# --- creating each kind ---------------------------------------------------------------------


def test_meeting_is_planned_with_partner_participants_and_end_time(client, desk):
    colleague, own = desk["colleague"], desk["own"]

    response = client.post(
        "/interactions/new",
        data=form(
            kind="meeting",
            status="planned",
            title="Переговоры по договору",
            partner_id=own.id,
            direction="outgoing",
            starts_at="2026-11-30T10:00",
            duration_minutes="90",
            remind_minutes="60",
            description="Обсудить скидки",
            **{
                "participants-0-user_id": colleague.id,
                "participants-0-note": "brings the contract",
                "participants-1-name": "Гость из Тулы",
            },
        ),
    )

    assert response.status_code == 302
    [i] = stored()
    assert response.headers["Location"] == f"/interactions/{i.id}"
    assert (i.kind, i.status, i.title, i.partner_id) == (
        "meeting",
        "planned",
        "Переговоры по договору",
        own.id,
    )
    assert i.direction == ""  # a meeting has no direction, whatever was posted
    # 10:00 in Moscow (UTC+3) is 07:00 UTC; 90 minutes later it ends.
    assert (i.starts_at, i.ends_at) == (datetime(2026, 11, 30, 7, 0), datetime(2026, 11, 30, 8, 30))
    assert i.remind_minutes == 60
    assert i.responsible_id == desk["manager"].id
    assert i.chain_id == i.id  # a thread of its own
    assert [(p.user_id, p.name, p.note) for p in i.participants] == [
        (colleague.id, "", "brings the contract"),
        (None, "Гость из Тулы", ""),
    ]
    page = text(client.get(f"/interactions/{i.id}"))
    assert "30 Nov 2026, 10:00 – 11:30 (90 min)" in page
    assert 'Пётр — <span class="text-body-secondary">brings the contract</span>' in page


def test_planned_interaction_needs_only_a_topic(client, desk):
    response = client.post(
        "/interactions/new",
        data=form(
            kind="planned",
            status="planned",
            title="Подготовить КП",
            direction="",
            duration_minutes="30",
            remind_minutes="",
        ),
    )

    assert response.status_code == 302
    [i] = stored()
    assert (i.kind, i.title, i.partner_id, i.remind_minutes) == (
        "planned",
        "Подготовить КП",
        None,
        None,
    )
    assert i.ends_at == datetime(2026, 11, 30, 7, 30)


def test_call_with_only_a_contact_person_takes_his_partner(client, desk):
    person = desk["person"]

    response = client.post(
        "/interactions/new",
        data=form(
            kind="call",
            direction="incoming",
            contact_person_id=person.id,
            address="+7 900 111-22-33",
            outcome="Asked to call back",
            duration_minutes="7",
        ),
    )

    assert response.status_code == 302
    [i] = stored()
    assert (i.kind, i.direction, i.status) == ("call", "incoming", "completed")
    assert (i.partner_id, i.contact_person_id) == (desk["own"].id, person.id)
    assert (i.address, i.outcome) == ("+7 900 111-22-33", "Asked to call back")
    assert i.completed_at is not None
    assert i.display_title == "Phone call — Ромашка"


def test_sms_and_email_store_text_address_and_subject_line(client, desk):
    own = desk["own"]

    sms = client.post(
        "/interactions/new",
        data=form(
            kind="sms", partner_id=own.id, address="+79123456789", description="Ваш заказ отгружен"
        ),
    )
    email = client.post(
        "/interactions/new",
        data=form(
            kind="email",
            direction="incoming",
            partner_id=own.id,
            title="Счёт на оплату",
            address="  Ivan@EXAMPLE.com ",
            description="Добрый день!",
        ),
    )

    assert (sms.status_code, email.status_code) == (302, 302)
    first, second = stored()
    assert (first.kind, first.description, first.address) == (
        "sms",
        "Ваш заказ отгружен",
        "+79123456789",
    )
    assert (second.kind, second.title, second.direction) == ("email", "Счёт на оплату", "incoming")
    assert second.address == "Ivan@example.com"  # trimmed, the domain in lower case


def test_creating_records_an_audit_entry(client, desk):
    client.post("/interactions/new", data=form(kind="call", partner_id=desk["own"].id))

    [entry] = db.session.execute(select(AuditEntry)).scalars().all()
    assert (entry.action, entry.object_type, entry.object_id) == ("create", "interaction", 1)
    assert entry.user_id == desk["manager"].id
    assert entry.summary == "Phone call: Phone call — Ромашка"


# --- editing --------------------------------------------------------------------------------

# kind: (stored, posted, expected afterwards, fields the audit entry names)
EDITS = {
    "meeting": (
        {"title": "Встреча", "duration_minutes": 60, "status": "planned"},
        {"title": "Встреча на складе", "duration_minutes": "120", "status": "in_progress"},
        {
            "title": "Встреча на складе",
            "duration_minutes": 120,
            "status": "in_progress",
            "ends_at": datetime(2026, 11, 30, 9, 0),
        },
        {"title", "duration_minutes", "status"},
    ),
    "planned": (
        {"title": "Позвонить", "status": "planned"},
        {"title": "Позвонить в бухгалтерию", "status": "cancelled"},
        {"title": "Позвонить в бухгалтерию", "status": "cancelled", "due_at": None},
        {"title", "status"},
    ),
    "call": (
        {"title": "Звонок", "status": "completed", "contact_text": "Склад"},
        {"direction": "incoming", "contact_text": "Склад, Олег", "outcome": "No answer"},
        {"direction": "incoming", "contact_text": "Склад, Олег", "outcome": "No answer"},
        {"direction", "contact_text", "outcome"},
    ),
    "sms": (
        {"title": "", "status": "completed", "description": "Привет", "address": "+79001234567"},
        {"description": "Счёт выставлен"},
        {"description": "Счёт выставлен", "address": "+79001234567"},
        {"description"},
    ),
    "email": (
        {"title": "КП", "status": "completed", "address": "a@example.com"},
        {"title": "Re: КП", "address": "b@example.com", "direction": "incoming"},
        {"title": "Re: КП", "address": "b@example.com", "direction": "incoming"},
        {"title", "address", "direction"},
    ),
}


@pytest.mark.parametrize("kind", list(EDITS))
def test_edit_of_each_kind_saves_the_changed_fields(client, desk, make_interaction, kind):
    before, posted, expected, audited = EDITS[kind]
    i = make_interaction(
        desk["manager"], kind, partner=desk["own"], starts_at=datetime(2026, 11, 30, 7, 0), **before
    )
    edit_page = text(client.get(f"/interactions/{i.id}/edit"))
    assert 'value="2026-11-30T10:00"' in edit_page  # 07:00 UTC shown in Moscow time

    directed = kind in ("call", "sms", "email")
    unchanged = form(
        **{
            "kind": kind,
            "partner_id": desk["own"].id,
            "remind_minutes": "",
            "direction": "outgoing" if directed else "",
            "duration_minutes": 0,
            **before,
        }
    )
    response = client.post(f"/interactions/{i.id}/edit", data={**unchanged, **posted})

    assert response.status_code == 302, page_errors(response)
    assert response.headers["Location"] == f"/interactions/{i.id}"
    i = fresh(Interaction, i.id)
    assert {key: getattr(i, key) for key in expected} == expected
    [entry] = (
        db.session.execute(select(AuditEntry).where(AuditEntry.action == "update")).scalars().all()
    )
    assert set(entry.changes) == audited


def test_edit_that_breaks_a_rule_keeps_the_stored_values(client, desk, make_interaction):
    i = make_interaction(
        desk["manager"],
        "email",
        partner=desk["own"],
        status="completed",
        title="Коммерческое предложение",
    )

    response = client.post(
        f"/interactions/{i.id}/edit",
        data=form(kind="email", partner_id=desk["own"].id, title="  ", duration_minutes="0"),
    )

    assert response.status_code == 422
    assert field_errors(text(response), "title") == ["An e-mail needs a subject line."]
    assert fresh(Interaction, i.id).title == "Коммерческое предложение"
    assert count(AuditEntry) == 0


def test_edit_keeps_a_partner_the_manager_cannot_see_when_unchanged(client, desk, make_interaction):
    # An admin planned a call with the colleague's partner and made the manager responsible.
    i = make_interaction(desk["manager"], "call", partner=desk["other"], status="planned")

    response = client.post(
        f"/interactions/{i.id}/edit",
        data=form(kind="call", status="planned", partner_id=desk["other"].id, outcome="Reached"),
    )

    assert response.status_code == 302, page_errors(response)
    assert (fresh(Interaction, i.id).partner_id, fresh(Interaction, i.id).outcome) == (
        desk["other"].id,
        "Reached",
    )


# --- mistakes -------------------------------------------------------------------------------

BAD_FORMS = {
    "e-mail without a subject line": (
        {"kind": "email", "address": "ivan@example.com"},
        "title",
        "An e-mail needs a subject line.",
    ),
    "SMS without text": (
        {"kind": "sms", "address": "+79001234567"},
        "description",
        "Write the text of the SMS.",
    ),
    "call without a direction": ({"direction": ""}, "direction", "Incoming or outgoing?"),
    "call with nobody": (
        {"partner_id": ""},
        "partner_id",
        "Who was it with? Choose a partner or type a contact.",
    ),
    "meeting without topic or partner": (
        {"kind": "meeting", "status": "planned", "partner_id": ""},
        "title",
        "Give a topic or choose a partner.",
    ),
    "malformed e-mail address": (
        {"kind": "email", "title": "Hi", "address": "ivan@@example.com"},
        "address",
        "'ivan@@example.com' is not a valid e-mail address: "
        "The part after the @-sign contains invalid characters: '@'.",
    ),
    "phone number of letters": ({"address": "call me"}, "address", "A phone number has digits."),
    "contact person of another partner": (
        {"contact_person_id": "OTHER_PERSON"},
        "contact_person_id",
        "This person is not a contact of the chosen partner.",
    ),
    "partner the manager cannot see": (
        {"partner_id": "OTHER"},
        "partner_id",
        "You cannot see this partner.",
    ),
    "partner that does not exist": (
        {"partner_id": "999"},
        "partner_id",
        "This partner does not exist.",
    ),
    "garbage start": (
        {"starts_at": "30/11/2026 ten o'clock"},
        "starts_at",
        "Enter a date and time (YYYY-MM-DD HH:MM).",
    ),
    "impossible date": (
        {"starts_at": "2026-02-30T10:00"},
        "starts_at",
        "Enter a date and time (YYYY-MM-DD HH:MM).",
    ),
    "garbage follow-up date": (
        {"follow_up_at": "tomorrow"},
        "follow_up_at",
        "Enter a date and time (YYYY-MM-DD HH:MM).",
    ),
    "no start": ({"starts_at": ""}, "starts_at", "Enter the date and time."),
    "duration over a week": (
        {"duration_minutes": "10081"},
        "duration_minutes",
        "Between 0 and 10080 minutes.",
    ),
    "negative duration": (
        {"duration_minutes": "-5"},
        "duration_minutes",
        "Between 0 and 10080 minutes.",
    ),
    "duration in words": (
        {"duration_minutes": "five"},
        "duration_minutes",
        "Not a valid integer value.",
    ),
    "reminder a year ahead": (
        {"remind_minutes": "525600"},
        "remind_minutes",
        "Between 0 and 10080 minutes, or empty for none.",
    ),
    "unknown kind": ({"kind": "fax"}, "kind", "Choose the kind of interaction."),
    "unknown status": ({"status": "lost"}, "status", "Choose a status."),
    "someone else responsible": (
        {"responsible_id": "COLLEAGUE"},
        "responsible_id",
        "Only an admin can make someone else responsible.",
    ),
}


def _resolve(fields: dict, desk: dict) -> dict:
    names = {
        "OTHER": desk["other"].id,
        "OTHER_PERSON": desk["other_person"].id,
        "COLLEAGUE": desk["colleague"].id,
    }
    return {k: str(names.get(v, v)) for k, v in fields.items()}


def test_bad_form_gives_message_next_to_the_field_and_writes_nothing(client, desk):
    outcomes = {}
    for case, (fields, field_id, message) in BAD_FORMS.items():
        data = form(**{"partner_id": desk["own"].id, **_resolve(fields, desk)})
        response = client.post("/interactions/new", data=data)
        errors = field_errors(text(response), field_id)
        outcomes[case] = (response.status_code, message in errors or errors)

    assert outcomes == {case: (422, True) for case in BAD_FORMS}
    assert count(Interaction) == 0
    assert count(Participant) == 0
    assert count(AuditEntry) == 0


def test_bad_participant_is_reported_above_the_participants(client, desk):
    response = client.post(
        "/interactions/new",
        data=form(
            partner_id=desk["own"].id,
            **{
                "participants-0-user_id": "999",
                "participants-1-contact_person_id": desk["other_person"].id,
            },
        ),
    )

    assert response.status_code == 422
    page = text(response)
    assert '<div class="alert alert-danger py-1">Participant 1: no such user.</div>' in page
    assert (
        '<div class="alert alert-danger py-1">Participant 2: you cannot see this contact.</div>'
        in page
    )
    assert count(Interaction) == 0


def test_admin_may_make_a_manager_responsible_but_not_a_viewer(
    client, login_as, make_user, make_partner
):
    login_as("admin")
    manager = make_user("manager", name="Анна")
    viewer = make_user("viewer")
    partner = make_partner(name="Ромашка", responsible=manager)

    refused = client.post(
        "/interactions/new", data=form(partner_id=partner.id, responsible_id=viewer.id)
    )
    saved = client.post(
        "/interactions/new", data=form(partner_id=partner.id, responsible_id=manager.id)
    )

    assert field_errors(text(refused), "responsible_id") == ["Choose an active manager."]
    assert saved.status_code == 302
    [i] = stored()
    assert i.responsible_id == manager.id
    login_as(manager)
    assert client.get(f"/interactions/{i.id}/edit").status_code == 200


# --- time zones -----------------------------------------------------------------------------


def test_times_are_typed_and_shown_in_the_users_zone(client, login_as, make_partner):
    admin = login_as("admin", name="Админ")  # Moscow, UTC+3
    far_east = login_as("manager", timezone="Asia/Vladivostok")  # UTC+10
    partner = make_partner(name="Ромашка", responsible=far_east)

    client.post(
        "/interactions/new",
        data=form(
            kind="meeting",
            status="planned",
            title="Визит",
            partner_id=partner.id,
            starts_at="2026-11-30T10:00",
            duration_minutes="45",
            follow_up_at="2026-12-01T09:00",
        ),
    )

    [i] = stored()
    assert i.starts_at == datetime(2026, 11, 30, 0, 0)
    assert i.ends_at == datetime(2026, 11, 30, 0, 45)
    assert i.follow_up_at == datetime(2026, 11, 30, 23, 0)
    page = text(client.get(f"/interactions/{i.id}"))
    assert "30 Nov 2026, 10:00 – 10:45 (45 min)" in page
    assert "Follow up by 1 Dec 09:00" in page
    edit = text(client.get(f"/interactions/{i.id}/edit"))
    assert 'id="starts_at" name="starts_at" type="datetime-local" value="2026-11-30T10:00"' in edit
    assert 'value="2026-12-01T09:00"' in edit
    assert "Your time zone: Asia/Vladivostok" in edit
    login_as(admin)
    assert "30 Nov 2026, 03:00 – 03:45 (45 min)" in text(client.get(f"/interactions/{i.id}"))


# --- the blank form -------------------------------------------------------------------------


def test_new_form_is_prefilled_from_the_link(client, desk):
    own = desk["own"]

    page = text(client.get(f"/interactions/new?kind=meeting&partner_id={own.id}"))

    assert '<option selected value="meeting">Meeting</option>' in page
    assert '<option selected value="planned">Planned</option>' in page
    assert f'<option selected value="{own.id}">Ромашка (T' in page
    assert 'value="60"' in page  # a meeting lasts an hour by default
    assert "Иван Петров" in page  # the partner's contact persons to choose from


def test_reply_form_takes_the_threads_partner_and_subject_line(client, desk, make_interaction):
    parent = make_interaction(
        desk["manager"],
        "email",
        partner=desk["own"],
        status="completed",
        title="Коммерческое предложение",
        address="ivan@example.com",
        contact_person_id=desk["person"].id,
    )

    page = text(client.get(f"/interactions/new?parent_id={parent.id}&reply=1"))

    assert "Reply to: Коммерческое предложение" in page
    assert 'value="Re: Коммерческое предложение"' in page
    assert '<option selected value="email">E-mail</option>' in page
    assert '<option selected value="incoming">Incoming</option>' in page  # the answer comes in
    assert f'id="parent_id" name="parent_id" type="hidden" value="{parent.id}"' in page
    assert 'value="ivan@example.com"' in page
    assert f'<option value="{desk["person"].id}" selected>Иван Петров</option>' in page


def test_viewers_and_marketers_cannot_open_the_form(client, login_as):
    for role in ("viewer", "marketer"):
        login_as(role)
        assert client.get("/interactions/new").status_code == 403
        assert client.post("/interactions/new", data=form(contact_text="Кто-то")).status_code == 403
        assert client.get("/interactions/log").status_code == 403
    assert count(Interaction) == 0


# --- the phone form -------------------------------------------------------------------------


def log_form(**overrides) -> dict:
    data = {
        "kind": "call",
        "direction": "outgoing",
        "partner_id": "",
        "contact_person_id": "",
        "contact_text": "",
        "address": "",
        "starts_at": "2026-11-30T10:00",
        "duration_minutes": "6",
        "outcome": "Reached, agreed next step",
        "description": "Ждут КП",
        "next_kind": "email",
        "next_at": "2026-12-01T09:30",
        "next_title": "Отправить КП",
    }
    data.update(overrides)
    return {key: str(value) for key, value in data.items()}


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_log_form_records_a_completed_call_and_plans_the_next_step(client, desk, headers):
    own, person = desk["own"], desk["person"]

    response = client.post(
        "/interactions/log",
        headers=headers,
        data=log_form(partner_id=own.id, contact_person_id=person.id, address="+79001112233"),
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/interactions/log?partner_id={own.id}"
    done, nxt = stored()
    assert (done.kind, done.status, done.direction, done.outcome, done.description) == (
        "call",
        "completed",
        "outgoing",
        "Reached, agreed next step",
        "Ждут КП",
    )
    assert (done.starts_at, done.ends_at) == (
        datetime(2026, 11, 30, 7, 0),
        datetime(2026, 11, 30, 7, 6),
    )
    assert done.remind_minutes is None and done.completed_at is not None
    assert (nxt.kind, nxt.status, nxt.title) == ("email", "planned", "Отправить КП")
    assert nxt.starts_at == datetime(2026, 12, 1, 6, 30)
    # The phone number dialled is no e-mail address: the e-mail goes to the partner's contact.
    assert (nxt.partner_id, nxt.contact_person_id, nxt.address) == (own.id, person.id, "")
    assert (nxt.parent_id, nxt.chain_id, done.chain_id) == (done.id, done.id, done.id)
    assert nxt.responsible_id == done.responsible_id == desk["manager"].id
    flashed = text(client.get(response.headers["Location"]))
    assert "Phone call logged; next step planned for 1 Dec 09:30." in flashed


def test_log_form_next_call_keeps_the_number_dialled(client, desk):
    response = client.post(
        "/interactions/log",
        data=log_form(
            partner_id=desk["own"].id, address="+79001112233", next_kind="call", next_title=""
        ),
    )

    assert response.status_code == 302
    done, nxt = stored()
    assert (nxt.kind, nxt.address, nxt.direction, nxt.parent_id) == (
        "call",
        "+79001112233",
        "outgoing",
        done.id,
    )


def test_log_form_without_a_next_step_records_one_meeting(client, desk):
    response = client.post(
        "/interactions/log",
        data=log_form(
            kind="meeting",
            direction="outgoing",
            partner_id=desk["own"].id,
            next_kind="",
            duration_minutes="40",
        ),
    )

    assert response.status_code == 302
    [done] = stored()
    assert (done.kind, done.status, done.direction, done.duration_minutes) == (
        "meeting",
        "completed",
        "",
        40,
    )
    assert "Meeting logged." in text(client.get(response.headers["Location"]))


LOG_MISTAKES = {
    "no next date": ({"next_at": ""}, "next_at", "When is the next step?"),
    "garbage date": (
        {"starts_at": "вчера"},
        "starts_at",
        "Enter a date and time (YYYY-MM-DD HH:MM).",
    ),
    "e-mail step without a subject": (
        {"next_title": ""},
        "next_title",
        "An e-mail needs a subject line.",
    ),
    "nobody": (
        {"partner_id": ""},
        "partner_id",
        "Who was it with? Choose a partner or type a contact.",
    ),
}


def test_log_form_mistakes_show_next_to_the_field_and_write_nothing(client, desk):
    outcomes = {}
    for case, (fields, field_id, _) in LOG_MISTAKES.items():
        data = log_form(**{"partner_id": desk["own"].id, **fields})
        response = client.post("/interactions/log", data=data)
        outcomes[case] = (response.status_code, field_errors(text(response), field_id))

    assert outcomes == {case: (422, [m]) for case, (_, _, m) in LOG_MISTAKES.items()}
    assert count(Interaction) == 0


# --- threads --------------------------------------------------------------------------------


def test_reply_through_the_form_joins_the_thread_and_clears_the_follow_up(
    client, desk, make_interaction
):
    sent = make_interaction(
        desk["manager"],
        "email",
        partner=desk["own"],
        status="completed",
        title="КП",
        follow_up_at=datetime(2026, 12, 5, 6, 0),
    )

    response = client.post(
        f"/interactions/new?parent_id={sent.id}&reply=1",
        data=form(
            kind="email",
            direction="incoming",
            partner_id=desk["own"].id,
            title="Re: КП",
            parent_id=sent.id,
        ),
    )

    assert response.status_code == 302
    sent, reply = stored()
    assert (reply.parent_id, reply.chain_id) == (sent.id, sent.id)
    assert (sent.follow_up_at, sent.due_at) == (None, None)
    assert "Follow up by" not in text(client.get(f"/interactions/{sent.id}"))


_THREAD_ITEM = re.compile(
    r'<li class="thread-item thread-depth-(\d+)( is-current)?">.*?'
    r"(?:<strong>|<a [^>]*>)(.*?)</",
    re.S,
)


def test_detail_page_shows_the_thread_in_reply_order(client, desk, make_interaction):
    me, own = desk["manager"], desk["own"]
    first = make_interaction(me, "email", datetime(2026, 3, 2, 9), own, title="Запрос цены")
    answer = make_interaction(
        me, "email", datetime(2026, 3, 3, 9), own, parent=first, title="Ответ с ценой"
    )
    make_interaction(
        me, "call", datetime(2026, 3, 4, 9), own, parent=first, title="Звонок: получили?"
    )
    make_interaction(
        me, "email", datetime(2026, 3, 5, 9), own, parent=answer, title="Спасибо, заказываем"
    )
    other = make_interaction(me, "call", datetime(2026, 3, 1, 9), own, title="Другая тема")

    page = text(client.get(f"/interactions/{answer.id}"))

    # (current?, indent, title): replies under what they answer, each level by time.
    assert [(bool(c), int(d), html.unescape(t)) for d, c, t in _THREAD_ITEM.findall(page)] == [
        (False, 0, "Запрос цены"),
        (True, 1, "Ответ с ценой"),
        (False, 2, "Спасибо, заказываем"),
        (False, 1, "Звонок: получили?"),
    ]
    lonely = text(client.get(f"/interactions/{other.id}"))
    assert "No replies or follow-ups yet." in lonely
