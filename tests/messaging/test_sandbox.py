"""Templates are written by users and run in a sandbox: a template cannot reach Python objects,
the app or its config. A template that tries is refused when saved, with the field and line at
fault; one stored directly in the table (bypassing the form) fails at send time with the reason
and nothing of the app in the message. Values put into the HTML body are escaped."""

from __future__ import annotations

import pytest

from crm.core.errors import DomainError
from crm.core.message_placeholders import Recipient
from crm.extensions import db
from crm.messaging import rendering
from crm.messaging.compose import compose
from crm.messaging.models import MessageTemplate
from crm.messaging.template_services import create_template
from tests.factories import create_partner

# (source, what the refusal names)
ESCAPES = [
    ("{{ ''.__class__.__mro__ }}", "__mro__"),
    ("{{ ''.__class__ }}", "__class__"),
    ("{{ cycler.__init__.__globals__ }}", "__globals__"),
    ("{{ lipsum.__globals__ }}", "__globals__"),
    ("{{ config }}", "“config” is not a placeholder"),
    ("{{ request }}", "“request” is not a placeholder"),
    ("{{ partner['__class__'] }}", "__class__"),
    ("{% for c in [].__class__.__base__.__subclasses__() %}{% endfor %}", "__subclasses__"),
    ("{{ ''|attr('__class__') }}", "__class__"),
    ("{{ partner|map(attribute='__class__')|list }}", "__class__"),
    ("{{ self }}", "“self” is not a placeholder"),
    ("{{ range(3)|list }}", "“range” is not a placeholder"),
    ("{% include 'base.html' %}", "cannot include or import"),
    ("{% import 'base.html' as b %}", "cannot include or import"),
]
IDS = [source for source, _ in ESCAPES]


def texts_with(field: str, source: str) -> dict:
    ru = {"subject": "Тема", "body_html": "<p>Текст</p>", "body_text": "Текст"}
    ru[field] = f"Здравствуйте!\n{source}" if field != "subject" else source
    return {"ru": ru}


@pytest.mark.parametrize(("source", "named"), ESCAPES, ids=IDS)
@pytest.mark.parametrize("field", ["subject", "body_html", "body_text"])
def test_saving_a_sandbox_escape_is_refused_at_its_field_and_line(app, source, named, field):
    with pytest.raises(DomainError) as refused:
        create_template(None, "Escape", "email", texts_with(field, source))
    messages = refused.value.field_errors[f"ru_{field}"]
    assert len(messages) == 1
    titles = {"subject": "Subject", "body_html": "HTML body", "body_text": "Text body"}
    line = 1 if field == "subject" else 2  # the body's first line is a greeting
    assert messages[0].startswith(f"Russian · {titles[field]}: line {line}: ")
    assert named in messages[0]
    db.session.rollback()
    assert db.session.query(MessageTemplate).count() == 0


def test_an_sms_with_an_escape_is_refused_too(app):
    with pytest.raises(DomainError) as refused:
        create_template(None, "SMS", "sms", {"ru": {"body_text": "{{ ''.__class__ }}"}})
    assert "__class__" in refused.value.field_errors["ru_body_text"][0]
    assert refused.value.field_errors["ru_body_text"][0].startswith("Russian · SMS text: line 1")


def test_the_english_text_is_checked_as_the_russian_one(app):
    texts = texts_with("subject", "Тема")
    texts["en"] = {"subject": "Hi {{ config.SECRET_KEY }}", "body_html": "", "body_text": "x"}
    with pytest.raises(DomainError) as refused:
        create_template(None, "Two languages", "email", texts)
    assert list(refused.value.field_errors) == ["en_subject"]
    assert refused.value.field_errors["en_subject"][0] == (
        "English · Subject: line 1: “config” is not a placeholder"
    )


@pytest.mark.parametrize(("source", "named"), ESCAPES, ids=IDS)
def test_a_stored_escape_fails_at_send_time_with_the_reason_and_leaks_nothing(
    app, make_template, source, named
):
    app.config["SECRET_KEY"] = "test-secret-key"
    template = make_template(
        "Stored directly",
        ru={"subject": "Тема", "body_html": f"<p>{source}</p>", "body_text": source},
    )
    partner = create_partner("ООО «Ромашка»", emails=["info@romashka.test"])
    recipient = Recipient(partner.id, None, "email", "info@romashka.test", "info@romashka.test")

    [message] = compose(template, [recipient])

    assert named in message.error
    assert message.subject == message.html == message.text == ""
    assert "test-secret-key" not in repr(message)


def test_a_stored_sms_escape_fails_at_send_time(app, make_template):
    template = make_template("SMS", "sms", ru={"body_text": "{{ lipsum.__globals__ }}"})
    [message] = compose(template, [Recipient(None, None, "sms", "+79001234567")])
    assert "__globals__" in message.error and message.text == ""


def test_the_html_body_escapes_values_and_the_text_body_keeps_them_as_written(app, make_template):
    template = make_template(
        ru={
            "subject": "Для {{ partner.name }}",
            "body_html": "<p>{{ partner.name }}</p>",
            "body_text": "{{ partner.name }}",
        }
    )
    partner = create_partner("<script>alert(1)</script> & Co", emails=["x@y.test"])
    [message] = compose(template, [Recipient(partner.id, None, "email", "x@y.test", "x@y.test")])
    assert message.error == ""
    assert message.html.startswith("<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co</p>")
    assert "<script>" not in message.html
    # A text body is not HTML (the unsubscribe footer follows it).
    assert message.text.startswith("<script>alert(1)</script> & Co\n")
    assert message.subject == "Для <script>alert(1)</script> & Co"


@pytest.mark.parametrize(
    "source",
    [
        '{{ "{0.__class__}".format(partner) }}',  # a format string reaching an attribute
        "{{ partner.update(name='x') }}",  # mutating a value
        "{{ partner.pop('name') }}",
    ],
)
def test_what_only_running_the_template_reveals_is_refused_by_the_sample_render(app, source):
    with pytest.raises(DomainError) as refused:
        create_template(None, "Sneaky", "email", texts_with("body_text", source))
    [message] = refused.value.field_errors["ru_body_text"]
    assert message.startswith("Russian · Text body: not allowed in a template: ")
    assert "unsafe" in message


def test_an_unknown_filter_is_refused_with_its_line(app):
    with pytest.raises(DomainError) as refused:
        create_template(None, "Filter", "email", texts_with("body_html", "{{ partner.name|eval }}"))
    [message] = refused.value.field_errors["ru_body_html"]
    assert message == "Russian · HTML body: line 2: No filter named 'eval'."


def test_loops_and_variables_a_template_sets_itself_are_allowed(app):
    source = (
        "{% set total = debt.overdue %}{% for key in ['name', 'code'] %}"
        "{{ loop.index }}:{{ partner[key] }};{% endfor %}{{ total|money }}"
    )
    context = {"partner": {"name": "Ромашка", "code": "К-1"}, "debt": {"overdue": 5}}
    assert rendering.scan(source, context) == ""
    assert rendering.render("", "", source, context, "en").text == "1:Ромашка;2:К-1;₽5.00"


def test_a_name_used_outside_its_loop_is_unknown(app):
    source = "{% for x in [1] %}{{ x }}{% endfor %}\n{{ x }}"
    assert rendering.scan(source, {}) == "line 2: “x” is not a placeholder"


def test_expressions_that_would_eat_the_worker_are_refused(app):
    with pytest.raises(rendering.RenderError, match="repetition"):
        rendering.render("", "", "{{ 'x' * 100000000 }}", {})
    with pytest.raises(rendering.RenderError, match="power"):
        rendering.render("", "", "{{ 10 ** 100000 }}", {})
    with pytest.raises(rendering.RenderError, match="power"):
        rendering.render("", "", "{{ ((10 ** 100) ** 100) ** 100 }}", {})
    with pytest.raises(rendering.RenderError, match="longer than 1000000"):
        rendering.render("", "", "{% for i in [1] * 1000 %}{{ 'x' * 10000 }}{% endfor %}", {})
    # Ordinary arithmetic stays possible.
    assert rendering.render("", "", "{{ 2 ** 10 }} {{ '-' * 3 }}", {}).text == "1024 ---"


def test_a_syntax_error_is_refused_with_its_line(app):
    with pytest.raises(DomainError) as refused:
        create_template(
            None, "Broken", "email", texts_with("body_text", "{% if partner.name %}no end")
        )
    message = refused.value.field_errors["ru_body_text"][0]
    assert message.startswith("Russian · Text body: line 2: ")
    assert "endif" in message
