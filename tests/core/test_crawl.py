"""A crawl of every GET route with malformed ids, pages, dates and numbers: no answer is a 5xx.

The routes come from the app's URL map, so a route added later is crawled too. Each URL
parameter is replaced by each malformed value (the others stay valid, so the request reaches
the view), and every query-string name the lists and forms read is sent with malformed values.
One request per route and value, never every combination: the suite stays quick.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date, datetime
from urllib.parse import quote, urlencode

import pytest

from crm.extensions import db
from tests.factories import (
    create_deal,
    create_deal_kind,
    create_document,
    create_interaction,
    create_payment,
    create_product,
)

BAD_INTS = ["0", "2147483648", "99999999999999999999", "²"]
BAD_STRINGS = ["%00", "²", "99999999999999999999", "x" * 3000]
BAD_VALUES = [
    "²",
    "-1",
    "99999999999999999999",
    "9999-12-31",
    "0001-01-01",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "1e308",
    "NaN",
    "x" * 3000,
    "\x00",
    "a:99999999999999999999",
]
# The names the filters, forms and API lists read (crm/*/filters.py, views, api/queries.py).
ARG_NAMES = [
    "page",
    "per_page",
    "partner_id",
    "partner",
    "manager",
    "responsible",
    "user",
    "from",
    "to",
    "date",
    "as_of",
    "view",
    "sort",
    "q",
    "kind",
    "status",
    "group",
    "role",
    "tag",
    "city",
    "subject",
    "unprocessed",
    "tab",
    "edit",
    "reply",
    "parent_id",
    "exclude",
    "blank",
    "partner_q",
    "format",
    "next",
    "name",
    "id",
    "code",
    "amount",
    "doc_no",
    "sku",
    "warehouse",
    "partner_code",
    "line_no",
    "inn",
    "email",
    # the deal list's filters and the deal form's prefills (crm/deals/filters.py, form_views.py)
    "stage",
    "reached",
    "created_from",
    "created_to",
    "closed_from",
    "closed_to",
    "expected_from",
    "expected_to",
    "reason",
    "stale",
    "from_interaction",
    "abc_xyz",
    "stage",
    # the segment form's prefills (crm/segments/builder_views.py)
    "preset",
    "rule",
    "segment_id",
    # the partner scope of every list and report with partners (crm/segments/scope.py) and
    # the drill-downs' own arguments the selections read again (crm/*/selection*.py)
    "segment",
    "cell",
    "which",
    "source",
    "target",
    "from_date",
    "to_date",
    "of",
    # the message templates' list and preview, the suppression list, the mailing list's and
    # a mailing's messages' filters (crm/messaging)
    "channel",
    "preview_language",
    "state",
]
PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


@pytest.fixture
def world(app, make_user, make_partner):
    """One record of each kind a URL names, owned by the manager; the valid URL values."""
    from crm.notifications.models import Notification

    admin, manager = make_user("admin"), make_user("manager")
    partner = make_partner(
        "Ромашка",
        responsible=manager,
        emails=["a@example.com"],
        persons=[{"name": "Иван", "email": "i@example.com"}],
    )
    product = create_product()
    doc = create_document(partner, amounts=(100,), product=product)
    payment = create_payment(partner, 50, date(2025, 2, 1))
    interaction = create_interaction(manager, partner=partner, starts_at=datetime(2026, 3, 2, 9))
    note = Notification(user_id=manager.id, key="k", title="t")
    db.session.add(note)
    db.session.commit()
    person = partner.contact_persons[0]
    deal_kind = create_deal_kind()
    deal = create_deal(partner, deal_kind, manager)
    from crm.segments.models import SegmentRefresh
    from crm.segments.services import create_segment

    segment = create_segment(
        manager,
        "Crawl",
        "periodic",
        {"type": "partner.city", "cities": ["Москва"]},
        schedule="daily",
    )
    db.session.commit()
    refresh_id = db.session.execute(db.select(SegmentRefresh.id)).scalar_one()
    from crm.messaging.models import MessageTemplate, MessageTemplateText

    message_template = MessageTemplate(name="Crawl", channel="email")
    message_template.texts.append(
        MessageTemplateText(language="ru", subject="{{ partner.name }}", body_text="x")
    )
    db.session.add(message_template)
    from crm.messaging.models import MailingGroup

    group = MailingGroup(name="Crawl")
    db.session.add(group)
    from crm.messaging.models import Mailing

    mailing = Mailing(name="Crawl", channel="email")
    db.session.add(mailing)
    db.session.commit()
    params = {
        "partner_id": partner.id,
        "person_id": person.id,
        "detail_id": partner.contact_details[0].id,
        "interaction_id": interaction.id,
        "attachment_id": 1,
        "import_id": 1,
        "notification_id": note.id,
        "token_id": 1,
        "user_id": manager.id,
        "field": "city",
        "kind": "partners",
        "fmt": "csv",
        "token": "nothing",
        "filename": "css/app.css",
        "code": partner.code,
        "partner_code": partner.code,
        "name": person.name,
        "sku": product.sku,
        "product_id": product.id,
        "warehouse": "Main",
        "doc_no": doc.doc_no,
        "id": payment.id,
        "key": "today",
        "kind_id": deal_kind.id,
        "deal_id": deal.id,
        "deal_no": deal.deal_no,
        "run_id": 1,
        "segment_id": segment.id,
        "refresh_id": refresh_id,
        "kind_key": "overdue_debt",  # a client notification kind (crm/messaging)
        "template_id": message_template.id,
        "group_id": group.id,
        "mailing_id": mailing.id,
    }
    return {"admin": admin, "manager": manager, "params": params}


def api_token(user) -> str:
    from crm.auth.models import ApiToken

    token = "crm_" + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(
            user_id=user.id,
            name="crawl",
            prefix=token[:12],
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
        )
    )
    db.session.commit()
    return token


def url_of(rule: str, values: dict) -> str:
    return PARAM.sub(lambda m: quote(str(values[m.group(2)]), safe="%/"), rule)


def uniform(n: int) -> dict:
    """Every name with the n-th malformed value."""
    return dict.fromkeys(ARG_NAMES, BAD_VALUES[n])


def spread(n: int) -> dict:
    """Each name a different malformed value (one bad value can hide another: a list refusing
    the first bad argument); over len(BAD_VALUES) requests every name gets every value."""
    return {k: BAD_VALUES[(i + n) % len(BAD_VALUES)] for i, k in enumerate(ARG_NAMES)}


def crawl(client, app, params: dict, token: str, args_of) -> list[str]:
    failures = []
    bearer = {"Authorization": f"Bearer {token}"}

    def get(url: str, label: str, htmx: bool = False) -> None:
        headers = dict(bearer) if url.startswith("/api/") else {}
        if htmx:
            headers["HX-Request"] = "true"
        response = client.get(url, headers=headers)
        try:
            response.get_data()  # a streamed body (an export) fails only while it is read
        except Exception as exc:  # noqa: BLE001 - any error is a failure of the crawl
            failures.append(f"{type(exc).__name__}: {exc} in {label}")
        finally:
            response.close()
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {label}")

    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"]
    assert len(rules) > 30  # the crawl sees the whole app
    for rule in rules:
        for m in PARAM.finditer(rule.rule):
            conv, name = m.group(1) or "string", m.group(2)
            for bad in BAD_INTS if conv == "int" else BAD_STRINGS:
                url = url_of(rule.rule, {**params, name: bad})
                get(url, url[:200])
        base = url_of(rule.rule, params)
        for n in range(len(BAD_VALUES)):
            args = args_of(n)
            get(f"{base}?{urlencode(args)}", f"{rule.rule}?{urlencode(args)[:300]}", n % 2 == 1)
    return failures


@pytest.mark.parametrize(("role", "args_of"), [("admin", uniform), ("manager", spread)])
def test_no_get_route_answers_5xx_to_malformed_ids_and_arguments(
    app, client, login_as, world, role, args_of
):
    user = login_as(world[role])
    failures = crawl(client, app, world["params"], api_token(user), args_of)
    assert failures == [], "\n".join(failures)
