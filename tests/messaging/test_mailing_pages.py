"""The mailing pages: the list, the draft's form and its recipient preview, a mailing's card
(state, progress, figures, messages) and the buttons that move its state — what each role may
do, what a manager sees, HTMX fragments and CSRF (the desk of tests/messaging/conftest.py;
expected figures counted by hand from it)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.messaging.models import Mailing, MailingPartner, Message

HX = {"HX-Request": "true"}


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def block(html: str, element_id: str) -> str:
    """The markup of the element with this id, up to its own closing tag."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>', html)
    assert match, f"no #{element_id}"
    tag, depth = match.group(1), 1
    for found in re.finditer(rf"<(/?){tag}\b[^>]*>", html[match.end() :]):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            return html[match.start() : match.end() + found.start()]
    raise AssertionError(f"#{element_id} is not closed")


def rows(html: str, tbody_id: str) -> list[str]:
    """The rows of a table body as their cells' text."""
    body = block(html, tbody_id)
    out = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        out.append(" | ".join(" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells))
    return out


def mailings_count() -> int:
    return db.session.execute(select(func.count(Mailing.id))).scalar_one()


def form_data(desk, **changes) -> dict:
    data = {
        "name": "Весенняя распродажа",
        "channel": "email",
        "template_id": str(desk.letter.id),
        "group_id": str(desk.promo.id),
        "segment": "",
        "codes": "",
        "when": "now",
        "send_at": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_mailings_newest_first_with_sent_of_made(
    client, login_as, desk, make_mailing, make_message
):
    old = make_mailing(desk, name="Осенняя акция", state="done")
    make_mailing(desk, name="Весенняя акция")
    make_message("a@x.test", mailing=old, partner=desk.p["P1"], state="sent")
    make_message("c@x.test", mailing=old, partner=desk.p["P3"], state="delivered")
    make_message("ann@x.test", mailing=old, partner=desk.p["P1"], state="failed")
    login_as(desk.marketer)

    listed = rows(text(client.get("/messaging/")), "mailing-rows")

    assert [r.split(" | ")[0].split(" Promotions")[0] for r in listed] == [
        "Весенняя акция",
        "Осенняя акция",
    ]
    assert listed[0].endswith("| —") and "Draft" in listed[0]
    assert listed[1].endswith("| 2 / 3") and "Done" in listed[1]


def test_the_list_searches_names_in_any_case_and_filters_by_state(
    client, login_as, desk, make_mailing
):
    make_mailing(desk, name="Осенняя акция", state="done")
    make_mailing(desk, name="Весенняя акция")
    login_as(desk.marketer)

    found = client.get("/messaging/?q=ВЕСЕННЯЯ", headers=HX)
    done = text(client.get("/messaging/?state=done"))
    bad = text(client.get("/messaging/?state=lost"))

    assert "<html" not in found.get_data(as_text=True)
    assert (
        found.headers["HX-Push-Url"]
        == "/messaging/?q=%D0%92%D0%95%D0%A1%D0%95%D0%9D%D0%9D%D0%AF%D0%AF"
    )
    assert [r.split(" | ")[0] for r in rows(text(found), "mailing-rows")] == [
        "Весенняя акция Promotions"
    ]
    assert [r.split(" | ")[0] for r in rows(done, "mailing-rows")] == ["Осенняя акция Promotions"]
    assert "Unknown mailing state 'lost' ignored." in bad
    assert len(rows(bad, "mailing-rows")) == 2


def test_a_manager_counts_only_the_messages_to_his_partners(
    client, login_as, desk, make_mailing, make_message
):
    old = make_mailing(desk, name="Акция", state="done", total=3)
    make_message("a@x.test", mailing=old, partner=desk.p["P1"], state="sent")
    make_message("ann@x.test", mailing=old, partner=desk.p["P1"], state="failed")
    make_message("c@x.test", mailing=old, partner=desk.p["P3"], state="sent")  # Boris's partner
    login_as(desk.anna)

    html = text(client.get("/messaging/"))

    assert rows(html, "mailing-rows")[0].endswith("| 1 / 2")
    assert "Sent and made: the messages to your partners." in html
    assert "New mailing" not in html  # a manager does not make mailings


# --- the form -------------------------------------------------------------------------------


def test_a_new_draft_is_saved_with_its_time_in_the_users_zone(client, login_as, desk):
    desk.marketer.timezone = "Asia/Yekaterinburg"  # UTC+5
    db.session.commit()
    login_as(desk.marketer)

    response = client.post(
        "/messaging/mailings/new",
        data=form_data(desk, codes="P1\nP3", tracking="y", when="at", send_at="2031-03-01T10:00"),
    )

    mailing = db.session.execute(select(Mailing)).scalar_one()
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/messaging/mailings/{mailing.id}")
    assert (mailing.name, mailing.state, mailing.tracking) == ("Весенняя распродажа", "draft", True)
    assert mailing.scheduled_at == datetime(2031, 3, 1, 5, 0)
    picked = db.session.execute(select(MailingPartner.partner_id)).scalars()
    assert set(picked) == {desk.p["P1"].id, desk.p["P3"].id}
    # The form shows the time back as it was typed.
    edit = text(client.get(f"/messaging/mailings/{mailing.id}/edit"))
    assert 'value="2031-03-01T10:00"' in edit


def test_a_bad_form_is_shown_again_with_every_problem_and_nothing_is_saved(client, login_as, desk):
    login_as(desk.marketer)

    response = client.post(
        "/messaging/mailings/new",
        data=form_data(
            desk,
            name="",
            codes="P1, NOPE",
            template_id=str(desk.sms.id),
            when="at",
            send_at="tomorrow",
        ),
    )

    html = text(response)
    assert response.status_code == 422
    assert "'tomorrow' is not a date and time (YYYY-MM-DD HH:MM)." in html
    assert mailings_count() == 0
    # Once the time reads, the service's own checks all show at once.
    response = client.post(
        "/messaging/mailings/new",
        data=form_data(desk, name="", codes="P1, NOPE", template_id=str(desk.sms.id)),
    )
    html = text(response)
    assert response.status_code == 422
    assert "A mailing needs a name." in html
    assert "The template Short SMS is for another channel." in html
    assert "Not found or not yours: NOPE." in html
    assert block(html, "codes").endswith("P1, NOPE")  # the typed codes are kept
    assert mailings_count() == 0


def test_an_unknown_segment_in_the_form_is_refused(client, login_as, desk):
    login_as(desk.marketer)
    response = client.post("/messaging/mailings/new", data=form_data(desk, segment="999"))
    assert response.status_code == 422
    assert "Unknown segment ignored." in block(text(response), "mailing-recipients")
    assert mailings_count() == 0


def test_the_draft_form_edits_values_and_removes_partners_added_by_hand(
    client, login_as, desk, make_mailing
):
    from crm.segments.services import create_segment

    segment = create_segment(desk.marketer, "Клиенты", "manual")
    db.session.commit()
    mailing = make_mailing(desk, name="Old", partners=["P1", "P2", "P3"])
    login_as(desk.marketer)
    page = text(client.get(f"/messaging/mailings/{mailing.id}/edit"))
    assert "3 partners added by hand" in page
    assert f'<option value="{segment.id}">Клиенты</option>' in page

    response = client.post(
        f"/messaging/mailings/{mailing.id}/edit",
        data={
            **form_data(desk, name="New", segment=str(segment.id), codes="P4"),
            "remove_partner": [str(desk.p["P1"].id), str(desk.p["P2"].id)],
            "version": str(mailing.version),
        },
    )

    assert response.status_code == 303
    db.session.refresh(mailing)
    assert (mailing.name, mailing.scope_key, mailing.scope_value) == (
        "New",
        "segment",
        str(segment.id),
    )
    picked = db.session.execute(select(MailingPartner.partner_id)).scalars()
    assert set(picked) == {desk.p["P3"].id, desk.p["P4"].id}
    edit = text(client.get(f"/messaging/mailings/{mailing.id}/edit"))
    assert f'<option value="{segment.id}" selected>Клиенты</option>' in edit


def test_a_stale_form_is_refused_with_what_changed(client, login_as, desk, make_mailing):
    mailing = make_mailing(desk, name="Old", partners=["P1"])
    opened_at = mailing.version
    login_as(desk.marketer)
    first = client.post(
        f"/messaging/mailings/{mailing.id}/edit",
        data={**form_data(desk, name="First"), "version": str(opened_at)},
    )
    second = client.post(
        f"/messaging/mailings/{mailing.id}/edit",
        data={**form_data(desk, name="Second"), "version": str(opened_at)},
    )

    assert (first.status_code, second.status_code) == (303, 422)
    assert "Someone else changed this" in text(second)
    db.session.refresh(mailing)
    assert mailing.name == "First"


def test_a_mailing_that_left_draft_opens_its_card_instead_of_the_form(
    client, login_as, desk, make_mailing
):
    mailing = make_mailing(desk, state="scheduled")
    login_as(desk.marketer)
    response = client.get(f"/messaging/mailings/{mailing.id}/edit")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/messaging/mailings/{mailing.id}")


# --- the recipient preview ------------------------------------------------------------------


def test_the_preview_counts_partners_messages_and_skipped_addresses(client, login_as, desk):
    """P1..P5 to the advertising group by e-mail: a@ and ann@ (P1) and c@ (P3) go; b@ (P2) has
    no consent, P4 no address, e@ (P5) is do-not-e-mail."""
    login_as(desk.marketer)

    response = client.post(
        "/messaging/mailings/new/preview", data=form_data(desk, codes="P1 P2 P3 P4 P5"), headers=HX
    )

    html = text(response)
    assert response.status_code == 200 and "<html" not in html
    assert block(html, "preview-partners").endswith(">5")
    assert block(html, "preview-messages").endswith(">3")
    assert block(html, "preview-skipped").endswith(">3")
    reasons = dict(re.findall(r'data-reason="(\w+)">[^<]*<span class="skip-count">(\d+)', html))
    assert reasons == {"no_address": "1", "do_not_contact": "1", "no_consent": "1"}
    assert rows(html, "preview-rows") == [
        "P1 · Альфа | — | a@x.test | ru",
        "P1 · Альфа | Ann | ann@x.test | ru",
        "P3 · Гамма | — | c@x.test | ru",
    ]
    assert "preview-restricted" not in html
    assert mailings_count() == 0  # a preview saves nothing


def test_a_service_group_needs_no_consent_in_the_preview(client, login_as, desk):
    login_as(desk.marketer)
    html = text(
        client.post(
            "/messaging/mailings/new/preview",
            data=form_data(desk, codes="P1 P2 P3 P4 P5", group_id=str(desk.service.id)),
            headers=HX,
        )
    )
    assert block(html, "preview-messages").endswith(">4")  # b@ goes too


def test_the_preview_of_a_segment_and_of_partners_removed_in_the_form(
    client, login_as, desk, make_mailing
):
    from crm.segments.services import add_members, create_segment

    segment = create_segment(desk.marketer, "Клиенты", "manual")
    add_members(desk.marketer, segment, [desk.p["P2"].id, desk.p["P3"].id])
    mailing = make_mailing(desk, partners=["P1", "P3"])
    login_as(desk.marketer)

    html = text(
        client.post(
            f"/messaging/mailings/{mailing.id}/preview",
            data={
                **form_data(desk, segment=str(segment.id)),
                "remove_partner": str(desk.p["P1"].id),
            },
            headers=HX,
        )
    )

    # P2 (segment, no consent) and P3 (both: counted once) remain.
    assert block(html, "preview-partners").endswith(">2")
    assert rows(html, "preview-rows") == ["P3 · Гамма | — | c@x.test | ru"]
    assert db.session.execute(select(func.count()).select_from(MailingPartner)).scalar_one() == 2


def test_without_javascript_the_preview_comes_with_the_form_as_typed(client, login_as, desk):
    login_as(desk.marketer)
    response = client.post(
        "/messaging/mailings/new/preview", data=form_data(desk, name="Typed", codes="P1")
    )
    html = text(response)
    assert response.status_code == 200 and "<html" in html
    assert 'value="Typed"' in html
    assert block(html, "preview-messages").endswith(">2")


def test_a_manager_previews_only_his_partners_and_is_told_so(client, login_as, desk, make_mailing):
    mailing = make_mailing(desk, partners=["P1", "P2", "P3", "P4", "P5"])
    login_as(desk.anna)

    page = client.get(f"/messaging/mailings/{mailing.id}/recipients")
    html = text(client.get(f"/messaging/mailings/{mailing.id}/recipients", headers=HX))

    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert "<html" not in html
    assert "Counted for the partners you may see only." in html
    # Anna's P1, P2, P5: a@ and ann@ go, b@ lacks consent, e@ is do-not-e-mail.
    assert block(html, "preview-partners").endswith(">3")
    assert block(html, "preview-messages").endswith(">2")
    assert "c@x.test" not in html


def test_a_preview_without_recipients_says_so(client, login_as, desk):
    login_as(desk.marketer)
    html = text(client.post("/messaging/mailings/new/preview", data=form_data(desk), headers=HX))
    assert "No recipients are chosen yet" in html


# --- the card -------------------------------------------------------------------------------


def sending_mailing(desk, make_mailing, make_message):
    """A mailing being sent with 6 messages by hand: 2 sent (one opened and clicked, one
    opened), 1 delivered, 1 failed, 1 bounced, 1 queued; the job counted 8 to make."""
    mailing = make_mailing(
        desk,
        name="Акция",
        state="sending",
        tracking=True,
        total=8,
        started_at=utcnow(),
        skipped={"no_consent": 4, "duplicate": 1},
    )
    now = utcnow()
    sent = {"attempts": 1, "sent_at": now}
    for address, code, state, more in [
        ("a@x.test", "P1", "sent", {**sent, "opened_at": now, "clicked_at": now}),
        ("ann@x.test", "P1", "sent", {**sent, "opened_at": now}),
        ("c@x.test", "P3", "delivered", sent),
        ("b@x.test", "P2", "failed", {"attempts": 3, "error": "550 mailbox unavailable"}),
        ("z@x.test", "P3", "bounced", sent),
        ("e@x.test", "P5", "queued", {}),
    ]:
        make_message(address, mailing=mailing, partner=desk.p[code], state=state, **more)
    return mailing


def test_the_card_shows_progress_counts_and_rates(
    client, login_as, desk, make_mailing, make_message
):
    mailing = sending_mailing(desk, make_mailing, make_message)
    login_as(desk.marketer)

    html = text(client.get(f"/messaging/mailings/{mailing.id}"))

    status = block(html, "mailing-status")
    # sent 2 + delivered 1 + failed 1 + bounced 1 = 5 of 8 made: 62 %.
    assert 'value="62"' in block(html, "mailing-progress")
    assert "5 of 8 messages processed" in status
    counts = dict(re.findall(r'<dd class="[^"]*message-count" data-state="(\w+)">(\d+)', status))
    assert counts == {"queued": "1", "sent": "2", "delivered": "1", "failed": "1", "bounced": "1"}
    # Opened 2 and clicked 1 of the 3 that went out (sent, delivered).
    assert block(html, "mailing-opened").endswith("2 (66.7%)")
    assert block(html, "mailing-clicked").endswith("1 (33.3%)")
    skipped = dict(re.findall(r'data-reason="(\w+)">[^<]*<span class="skip-count">(\d+)', status))
    assert skipped == {"duplicate": "1", "no_consent": "4"}
    # Polled every 2 s while it goes out.
    assert 'hx-trigger="every 2s"' in status
    assert f'hx-get="/messaging/mailings/{mailing.id}/status"' in status
    assert len(rows(html, "message-rows")) == 6


def test_the_polled_status_stops_once_the_mailing_is_done(
    client, login_as, desk, make_mailing, make_message
):
    mailing = sending_mailing(desk, make_mailing, make_message)
    login_as(desk.marketer)

    polled = client.get(f"/messaging/mailings/{mailing.id}/status", headers=HX)
    assert "<html" not in polled.get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in text(polled)
    assert "data-action" not in text(polled)

    mailing.state = "done"
    db.session.commit()
    final = text(client.get(f"/messaging/mailings/{mailing.id}/status", headers=HX))
    assert "hx-trigger" not in final and 'data-state="done"' in final
    # Without HTMX the status address leads to the card.
    assert client.get(f"/messaging/mailings/{mailing.id}/status").status_code == 302


def test_a_draft_card_says_what_it_lacks_and_does_not_poll(client, login_as, desk, make_mailing):
    mailing = make_mailing(desk, template_id=None)
    login_as(desk.marketer)
    html = text(client.get(f"/messaging/mailings/{mailing.id}"))
    problems = block(html, "mailing-problems")
    assert "Choose a template." in problems
    assert "Choose the recipients" in problems
    assert "every 2s" not in html
    assert "Messages are made when the mailing starts." in html


def test_a_manager_sees_only_the_messages_to_his_partners(
    client, login_as, desk, make_mailing, make_message
):
    mailing = sending_mailing(desk, make_mailing, make_message)
    login_as(desk.anna)

    html = text(client.get(f"/messaging/mailings/{mailing.id}"))

    addresses = [r.split(" | ")[0] for r in rows(html, "message-rows")]
    assert addresses == ["a@x.test", "ann@x.test", "b@x.test", "e@x.test"]
    status = block(html, "mailing-status")
    assert "Figures of the messages to your partners." in status
    # His 4: sent 2, failed 1, queued 1 → 3 of 4 processed.
    assert "3 of 4 messages processed" in status
    assert block(html, "mailing-opened").endswith("2 (100%)")
    assert "mailing-actions" in html and "Cancel the mailing" not in html


def test_the_messages_filter_by_state_and_page(client, login_as, desk, make_mailing, make_message):
    mailing = make_mailing(desk, state="sending")
    for n in range(60):
        make_message(f"m{n:02d}@x.test", mailing=mailing, state="sent" if n % 3 else "failed")
    login_as(desk.marketer)

    failed = client.get(f"/messaging/mailings/{mailing.id}?state=failed", headers=HX)
    second = text(client.get(f"/messaging/mailings/{mailing.id}?page=2"))

    assert "<html" not in failed.get_data(as_text=True)
    assert failed.headers["HX-Push-Url"] == f"/messaging/mailings/{mailing.id}?state=failed"
    found = [r.split(" | ")[0] for r in rows(text(failed), "message-rows")]
    assert found == [f"m{n:02d}@x.test" for n in range(0, 60, 3)]
    # 50 a page: the second holds the last 10.
    assert [r.split(" | ")[0] for r in rows(second, "message-rows")] == [
        f"m{n:02d}@x.test" for n in range(50, 60)
    ]


def test_an_unknown_mailing_is_a_404(client, login_as, desk):
    login_as(desk.marketer)
    assert client.get("/messaging/mailings/999").status_code == 404
    assert client.post("/messaging/mailings/999/cancel").status_code == 404


# --- the buttons ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state, buttons",
    [
        ("draft", {"Edit", "Schedule", "Send now", "Copy", "Delete"}),
        ("scheduled", {"Send now", "Back to draft", "Cancel the mailing", "Copy"}),
        ("sending", {"Cancel the mailing", "Copy"}),
        ("done", {"Copy"}),
        ("cancelled", {"Copy"}),
    ],
)
def test_the_card_offers_the_moves_of_its_state(
    client, login_as, desk, make_mailing, state, buttons
):
    mailing = make_mailing(
        desk, partners=["P1"], state=state, scheduled_at=utcnow() + timedelta(days=1)
    )
    login_as(desk.marketer)
    actions = block(text(client.get(f"/messaging/mailings/{mailing.id}")), "mailing-actions")
    shown = {" ".join(b.split()) for b in re.findall(r"<(?:button|a)[^>]*>([^<]+)<", actions)}
    assert shown == buttons


def test_scheduling_from_the_card(client, login_as, desk, make_mailing):
    at = utcnow().replace(microsecond=0) + timedelta(days=1)
    ready = make_mailing(desk, partners=["P1"], scheduled_at=at)
    unready = make_mailing(desk, group_id=None, partners=["P1"], scheduled_at=at)
    login_as(desk.marketer)

    ok = client.post(f"/messaging/mailings/{ready.id}/schedule", follow_redirects=True)
    refused = client.post(f"/messaging/mailings/{unready.id}/schedule", follow_redirects=True)

    assert "The mailing is scheduled." in text(ok)
    assert "The mailing cannot be sent yet: Choose a mailing group." in text(refused)
    db.session.expire_all()
    assert (ready.state, unready.state) == ("scheduled", "draft")


def test_cancelling_from_the_card_cancels_the_queued_messages(
    client, login_as, desk, make_mailing, make_message
):
    mailing = sending_mailing(desk, make_mailing, make_message)
    login_as(desk.marketer)

    response = client.post(f"/messaging/mailings/{mailing.id}/cancel", follow_redirects=True)

    assert "The mailing is cancelled; 1 queued message will not be sent." in text(response)
    db.session.expire_all()
    assert mailing.state == "cancelled"
    queued = select(func.count(Message.id)).where(Message.state == "queued")
    assert db.session.execute(queued).scalar_one() == 0


def test_send_now_of_an_unready_draft_is_refused_and_starts_nothing(
    client, login_as, desk, make_mailing
):
    mailing = make_mailing(desk, template_id=None, partners=["P1"])
    login_as(desk.marketer)
    response = client.post(f"/messaging/mailings/{mailing.id}/send", follow_redirects=True)
    assert "The mailing cannot be sent yet: Choose a template." in text(response)
    db.session.expire_all()
    assert mailing.state == "draft"


def test_copy_and_delete_from_the_card(client, login_as, desk, make_mailing):
    done = make_mailing(desk, name="Акция", partners=["P1"], state="done")
    login_as(desk.marketer)

    copied = client.post(f"/messaging/mailings/{done.id}/duplicate")
    copy = db.session.execute(select(Mailing).where(Mailing.name == "Акция (copy)")).scalar_one()
    assert copied.headers["Location"].endswith(f"/messaging/mailings/{copy.id}/edit")

    refused = client.post(f"/messaging/mailings/{done.id}/delete", follow_redirects=True)
    deleted = client.post(f"/messaging/mailings/{copy.id}/delete")

    assert "Only a draft can be deleted" in text(refused)
    assert deleted.headers["Location"].endswith("/messaging/")
    assert [m.name for m in db.session.execute(select(Mailing)).scalars()] == ["Акция"]


# --- who may -------------------------------------------------------------------------------


MOVES = ["schedule", "send", "unschedule", "cancel", "duplicate", "delete", "edit", "preview"]


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_viewers_and_managers_read_but_cannot_change(
    client, login_as, desk, make_mailing, role, make_message
):
    mailing = make_mailing(desk, name="Kept", partners=["P1"], state="scheduled")
    make_message("a@x.test", mailing=mailing, partner=desk.p["P1"], state="queued")
    login_as(desk.viewer if role == "viewer" else desk.anna)

    assert client.get("/messaging/").status_code == 200
    assert client.get(f"/messaging/mailings/{mailing.id}").status_code == 200
    html = text(client.get(f"/messaging/mailings/{mailing.id}"))
    assert "<form" not in block(html, "mailing-actions")
    for move in MOVES:
        assert (
            client.post(
                f"/messaging/mailings/{mailing.id}/{move}", data=form_data(desk)
            ).status_code
            == 403
        )
    assert client.post("/messaging/mailings/new", data=form_data(desk)).status_code == 403
    assert client.get("/messaging/mailings/new").status_code == 403

    db.session.expire_all()
    assert (mailing.name, mailing.state) == ("Kept", "scheduled")
    assert db.session.execute(select(Message.state)).scalar_one() == "queued"
    assert mailings_count() == 1


def test_posts_need_the_csrf_token(app, client, login_as, desk, make_mailing, make_message):
    mailing = make_mailing(desk, partners=["P1"], state="scheduled")
    make_message("a@x.test", mailing=mailing, partner=desk.p["P1"], state="queued")
    login_as(desk.marketer)
    app.config["WTF_CSRF_ENABLED"] = True

    without = client.post(f"/messaging/mailings/{mailing.id}/cancel")
    created = client.post("/messaging/mailings/new", data=form_data(desk))
    db.session.expire_all()
    assert (without.status_code, created.status_code) == (400, 400)
    assert mailing.state == "scheduled" and mailings_count() == 1

    page = text(client.get(f"/messaging/mailings/{mailing.id}"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    with_token = client.post(f"/messaging/mailings/{mailing.id}/cancel", data={"csrf_token": token})
    assert with_token.status_code == 303
    db.session.expire_all()
    assert mailing.state == "cancelled"


def test_an_email_mailing_says_it_waits_while_no_smtp_server_is_set_up(
    app, client, login_as, desk, make_mailing, monkeypatch
):
    letter = make_mailing(desk, channel="email", state="scheduled")
    sms = make_mailing(desk, channel="sms", state="scheduled")
    login_as(desk.marketer)

    monkeypatch.setitem(app.config, "SMTP_HOST", "")
    assert "mailing-channel-waits" in client.get(f"/messaging/mailings/{letter.id}").text
    assert "mailing-channel-waits" not in client.get(f"/messaging/mailings/{sms.id}").text

    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    assert "mailing-channel-waits" not in client.get(f"/messaging/mailings/{letter.id}").text
