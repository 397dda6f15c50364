"""The Notifications tab: every registered kind with its settings and last 30 days' messages;
only who may change the messaging settings edits them (CSRF-protected); bad input is refused
with its message and changes nothing; a save over someone else's is refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.core.client_notifications import CLIENT_NOTIFICATION_KINDS, ClientNotificationKind
from crm.core.models import AuditEntry
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.messaging.models import Message, NotificationSetting

URL = "/messaging/notifications"
HTMX = {"HX-Request": "true"}


def text(response) -> str:
    return response.get_data(as_text=True)


def card(page: str, kind: str) -> str:
    """The HTML of one kind's card."""
    start = page.index(f'id="notification-{kind}"')
    end = page.find('<section class="card', start)
    return page[start : end if end >= 0 else len(page)]


def setting(kind: str) -> NotificationSetting | None:
    db.session.expire_all()
    return db.session.execute(
        select(NotificationSetting).where(NotificationSetting.kind == kind)
    ).scalar_one_or_none()


@pytest.fixture
def desk(app, make_template, make_group):
    """Two e-mail templates, an SMS one, a service and an advertising group."""
    return {
        "mail": make_template("Order mail", text="Уведомление"),
        "mail2": make_template("Debt mail", text="Уведомление"),
        "sms": make_template("Order SMS", "sms", text="SMS"),
        "service": make_group("Service notices", "service"),
        "promo": make_group("Promotions", "advertising"),
    }


def _form(desk, **over) -> dict:
    data = {
        "enabled": "1",
        "channel": "email",
        "template_id": str(desk["mail"].id),
        "group_id": str(desk["service"].id),
        "param_days_after_due": "5",
        "param_repeat_every_days": "10",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def test_every_registered_kind_is_listed_for_a_viewer_without_forms(client, login_as, desk):
    login_as("viewer")

    page = text(client.get(URL))

    titles = re.findall(r'<h2 class="h5 card-title mb-1"[^>]*>([^<]+)</h2>', page)
    assert titles == ["Order status changed", "Overdue debt", "Deal won", "Meeting reminder"]
    assert "<form" not in card(page, "overdue_debt")
    assert "Off" in card(page, "overdue_debt")


def test_an_editor_sees_the_forms_with_a_service_group_and_the_defaults(client, login_as, desk):
    login_as("marketer")

    page = card(text(client.get(URL)), "overdue_debt")

    assert 'name="param_days_after_due" value="3"' in page
    assert 'name="param_repeat_every_days" value="7"' in page
    assert f'<option value="{desk["service"].id}" selected>' in page
    # The template choice offers the e-mail templates, not the SMS one.
    assert "Order mail" in page and "Debt mail" in page and "Order SMS" not in page


def test_a_kind_a_later_domain_registers_is_listed(app, client, login_as, desk, monkeypatch):
    registry = CLIENT_NOTIFICATION_KINDS.of(app).copy()
    registry.add(ClientNotificationKind("claim_closed", "Claim closed", "A claim was closed."))
    monkeypatch.setitem(app.extensions, CLIENT_NOTIFICATION_KINDS.name, registry)
    login_as("viewer")

    page = text(client.get(URL))

    assert "Claim closed" in card(page, "claim_closed")
    assert "Sent when the event happens." in card(page, "claim_closed")


def test_saving_switches_a_kind_on_with_its_settings_and_records_it(client, login_as, desk):
    admin = login_as("admin")
    before = utcnow()

    answer = client.post(f"{URL}/overdue_debt", data=_form(desk))

    assert answer.status_code == 302
    s = setting("overdue_debt")
    assert (s.enabled, s.template_id, s.group_id) == (True, desk["mail"].id, desk["service"].id)
    assert s.params == {"days_after_due": 5, "repeat_every_days": 10}
    assert s.enabled_at >= before - timedelta(seconds=1)
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.object_type == "messaging_notification_setting")
    ).scalar_one()
    assert (entry.user_id, entry.action) == (admin.id, "create")
    page = card(text(client.get(URL)), "overdue_debt")
    assert "On since" in page and 'value="5"' in page


def test_saving_again_keeps_the_switch_on_moment_and_switching_on_again_moves_it(
    client, login_as, desk
):
    login_as("admin")
    client.post(f"{URL}/deal_won", data=_form(desk))
    first = setting("deal_won").enabled_at
    stamp = setting("deal_won").updated_at.isoformat()

    client.post(f"{URL}/deal_won", data=_form(desk, template_id=str(desk["mail2"].id), stamp=stamp))
    assert setting("deal_won").enabled_at == first
    assert setting("deal_won").template_id == desk["mail2"].id

    client.post(f"{URL}/deal_won", data=_form(desk, enabled=None))
    assert setting("deal_won").enabled is False
    client.post(f"{URL}/deal_won", data=_form(desk))
    assert setting("deal_won").enabled_at > first


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"channel": "sms"}, "template_id", "Choose a template of this channel."),
        ({"template_id": ""}, "template_id", "A notification that is on needs a template."),
        ({"template_id": "99999"}, "template_id", "Choose a template of this channel."),
        ({"template_id": "abc"}, "template_id", "Choose a template of this channel."),
        ({"group_id": ""}, "group_id", "A notification that is on needs a mailing group."),
        ({"channel": "fax"}, "channel", "Choose a channel."),
        ({"param_days_after_due": "0"}, "param_days_after_due", "from 1 to 365"),
        ({"param_repeat_every_days": "x"}, "param_repeat_every_days", "from 0 to 365"),
        ({"param_days_after_due": ""}, "param_days_after_due", "from 1 to 365"),
    ],
)
def test_bad_settings_are_refused_with_their_message_and_change_nothing(
    client, login_as, desk, change, field, message
):
    login_as("marketer")

    answer = client.post(f"{URL}/overdue_debt", data=_form(desk, **change), headers=HTMX)

    assert answer.status_code == 422
    body = text(answer)
    assert "<html" not in body
    assert message in body
    assert re.search(rf'class="[^"]*is-invalid"[^>]*name="{field}"', body)
    assert setting("overdue_debt") is None


def test_a_save_over_someone_elses_is_refused_and_shows_theirs(client, login_as, desk):
    login_as("admin")
    client.post(f"{URL}/order_status", data=_form(desk))
    old_stamp = setting("order_status").updated_at.isoformat()
    client.post(
        f"{URL}/order_status", data=_form(desk, template_id=str(desk["mail2"].id), stamp=old_stamp)
    )

    answer = client.post(
        f"{URL}/order_status", data=_form(desk, enabled=None, stamp=old_stamp), headers=HTMX
    )

    assert answer.status_code == 409
    assert "Someone saved this notification" in text(answer)
    s = setting("order_status")
    assert (s.enabled, s.template_id) == (True, desk["mail2"].id)


def test_an_htmx_save_answers_the_card(client, login_as, desk):
    login_as("admin")

    answer = client.post(
        f"{URL}/interaction_reminder", data=_form(desk, param_hours_before="3"), headers=HTMX
    )

    body = text(answer)
    assert answer.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<section class="card')
    assert "Saved." in body and 'name="param_hours_before" value="3"' in body
    assert setting("interaction_reminder").params == {"hours_before": 3}


def test_the_template_choice_follows_the_channel(client, login_as, desk):
    login_as("admin")

    answer = client.get(f"{URL}/order_status/templates?channel=sms", headers=HTMX)

    body = text(answer)
    assert "<html" not in body
    assert "Order SMS" in body and "Order mail" not in body


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_only_messaging_editors_may_save(client, login_as, desk, role):
    login_as(role)

    assert client.post(f"{URL}/overdue_debt", data=_form(desk)).status_code == 403
    assert client.get(f"{URL}/overdue_debt/templates?channel=sms").status_code == 403
    assert setting("overdue_debt") is None


def test_a_save_without_the_csrf_token_is_refused(app, client, login_as, desk):
    login_as("admin")
    app.config["WTF_CSRF_ENABLED"] = True

    answer = client.post(f"{URL}/overdue_debt", data=_form(desk))

    assert answer.status_code == 400
    assert setting("overdue_debt") is None


def test_the_forms_carry_the_csrf_token(app, client, login_as, desk):
    login_as("admin")
    app.config["WTF_CSRF_ENABLED"] = True

    page = text(client.get(URL))
    token = re.search(r'name="csrf_token" value="([^"]+)"', card(page, "deal_won")).group(1)
    answer = client.post(f"{URL}/deal_won", data={**_form(desk), "csrf_token": token})

    assert answer.status_code == 302
    assert setting("deal_won").enabled is True


def test_an_unknown_kind_is_not_found(client, login_as, desk):
    login_as("admin")

    assert client.post(f"{URL}/no_such_kind", data=_form(desk)).status_code == 404
    assert client.get(f"{URL}/no_such_kind/templates").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, desk):
    assert client.get(URL).status_code == 302
    assert client.post(f"{URL}/overdue_debt", data=_form(desk)).status_code == 401
    assert db.session.execute(select(func.count(NotificationSetting.id))).scalar_one() == 0


def test_the_messages_of_the_last_30_days_are_counted_per_kind(client, login_as, desk):
    now = utcnow()

    def message(kind, n, state="queued", days_ago=1):
        db.session.add(
            Message(
                kind=kind,
                event_key=f"{kind}:{n}",
                channel="email",
                address=f"a{n}@x.test",
                address_norm=f"a{n}@x.test",
                rfc_message_id=f"<{kind}-{n}@x>",
                state=state,
                created_at=now - timedelta(days=days_ago),
            )
        )

    message("overdue_debt", 1)
    message("overdue_debt", 2, "sent", 29)
    message("overdue_debt", 3, "failed", 10)
    message("overdue_debt", 4, "sent", 31)  # too old
    message("deal_won", 5, "sent")
    db.session.commit()
    login_as("viewer")

    page = text(client.get(URL))

    assert "3 messages in the last 30 days" in card(page, "overdue_debt")
    assert "1 failed" in card(page, "overdue_debt")
    assert "1 message in the last 30 days" in card(page, "deal_won")
    assert "0 messages in the last 30 days" in card(page, "order_status")


def test_the_page_is_a_tab_of_the_messaging_section(client, login_as, desk):
    login_as("viewer")

    page = text(client.get(URL))

    assert re.search(r'href="/messaging/notifications"[^>]*>Notifications</a>', page) or (
        'aria-current="page" href="/messaging/notifications">Notifications' in page
    )
