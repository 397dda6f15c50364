"""SMS gateways: the generic HTTP JSON gateway against a real local HTTP server (what it
sends, how each kind of answer becomes an id or an error), the file gateway's lines (also from
two processes at once), the console gateway, and the choice by SMS_BACKEND."""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from crm import create_app
from crm.messaging.backends import AddressRefused, PermanentError, TemporaryError
from crm.messaging.backends.sms import (
    ConsoleGateway,
    FileGateway,
    HttpJsonGateway,
    SmsConfigError,
    gateway,
)
from tests.conftest import base_config

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "gateway-secret"


def http_gateway(server, timeout: float = 5) -> HttpJsonGateway:
    return HttpJsonGateway(server.url, token=TOKEN, sender="CRM", timeout=timeout)


# --- the HTTP JSON gateway ---------------------------------------------------------------------


def test_http_gateway_posts_the_message_as_json_with_the_token_and_returns_the_gateways_id(
    sms_gateway_server,
):
    sms_gateway_server.answer(200, {"id": "msg-7781"})

    provider_id = http_gateway(sms_gateway_server).send(
        "+79161234567", "Ваш заказ №12 отгружен", "k3y-1"
    )

    assert provider_id == "msg-7781"
    [request] = sms_gateway_server.requests
    assert (request.method, request.path) == ("POST", "/api/sms/send")
    assert request.headers["Authorization"] == "Bearer gateway-secret"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.json == {
        "to": "+79161234567",
        "text": "Ваш заказ №12 отгружен",
        "sender": "CRM",
        "client_id": "k3y-1",
    }


def test_http_gateway_accepts_a_numeric_id_and_sends_no_authorization_without_a_token(
    sms_gateway_server,
):
    sms_gateway_server.answer(201, {"id": 90210, "parts": 1})
    plain = HttpJsonGateway(sms_gateway_server.url, sender="", timeout=5)

    assert plain.send("+79161234567", "Hi", "k") == "90210"
    assert "Authorization" not in sms_gateway_server.requests[0].headers


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_busy_or_broken_gateway_is_a_temporary_error(sms_gateway_server, status):
    sms_gateway_server.answer(status, {"error": "overloaded", "message": "try later"})

    with pytest.raises(TemporaryError) as caught:
        http_gateway(sms_gateway_server).send("+79161234567", "Hi", "k")

    assert type(caught.value) is TemporaryError
    assert caught.value.reason == (f"the SMS gateway answered HTTP {status}: overloaded: try later")


def test_a_gateway_that_does_not_answer_in_time_is_a_temporary_error(sms_gateway_server):
    sms_gateway_server.answer(hang=True)  # answers nothing until the test ends

    with pytest.raises(TemporaryError) as caught:
        http_gateway(sms_gateway_server, timeout=0.3).send("+79161234567", "Hi", "k")

    assert caught.value.reason == "the SMS gateway did not answer within 0.3 s"
    assert len(sms_gateway_server.requests) == 1  # it did get the message


def test_a_connection_closed_without_an_answer_is_a_temporary_error(sms_gateway_server):
    sms_gateway_server.answer(drop=True)

    with pytest.raises(TemporaryError) as caught:
        http_gateway(sms_gateway_server).send("+79161234567", "Hi", "k")

    assert caught.value.reason.startswith("the connection to the SMS gateway broke: ")


def test_a_gateway_that_is_not_listening_is_a_temporary_error():
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = HttpJsonGateway(f"http://127.0.0.1:{port}/send", token=TOKEN, timeout=5)

    with pytest.raises(TemporaryError) as caught:
        down.send("+79161234567", "Hi", "k")

    assert caught.value.reason.startswith("cannot reach the SMS gateway: ")


@pytest.mark.parametrize("status", [400, 422])
def test_an_invalid_number_answer_refuses_the_address(sms_gateway_server, status):
    sms_gateway_server.answer(status, {"error": "invalid_number", "message": "no such subscriber"})

    with pytest.raises(AddressRefused) as caught:
        http_gateway(sms_gateway_server).send("+79990000000", "Hi", "k")

    assert caught.value.reason == (
        f"invalid number (HTTP {status}): invalid_number: no such subscriber"
    )


def test_another_client_error_is_permanent_with_the_gateways_text_cut_and_without_the_token(
    sms_gateway_server,
):
    # A gateway that echoes the request's token back in a long error text.
    said = f"sender name not registered for token {TOKEN}; " + "x" * 400
    sms_gateway_server.answer(400, {"error": "invalid_sender", "message": said})

    with pytest.raises(PermanentError) as caught:
        http_gateway(sms_gateway_server).send("+79161234567", "Hi", "k")

    assert type(caught.value) is PermanentError  # not AddressRefused: the number is fine
    expected_text = ("invalid_sender: sender name not registered for token ***; " + "x" * 400)[:200]
    assert caught.value.reason == f"the SMS gateway refused the message, HTTP 400: {expected_text}"
    assert TOKEN not in caught.value.reason


def test_a_plain_text_refusal_keeps_its_text(sms_gateway_server):
    sms_gateway_server.answer(
        401, b"Unauthorized:\n  bad   key", headers={"Content-Type": "text/plain"}
    )

    with pytest.raises(PermanentError) as caught:
        http_gateway(sms_gateway_server).send("+79161234567", "Hi", "k")

    assert (
        caught.value.reason
        == "the SMS gateway refused the message, HTTP 401: Unauthorized: bad key"
    )


def test_a_redirect_is_refused_not_followed(sms_gateway_server):
    sms_gateway_server.answer(302, b"", headers={"Location": "/elsewhere"})

    with pytest.raises(PermanentError) as caught:
        http_gateway(sms_gateway_server).send("+79161234567", "Hi", "k")

    assert "HTTP 302" in caught.value.reason
    assert [r.path for r in sms_gateway_server.requests] == ["/api/sms/send"]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"OK", "OK"),
        (b'{"status": "queued"}', '{"status": "queued"}'),
        (b'{"id": ""}', '{"id": ""}'),
        (b"[1, 2]", "[1, 2]"),
    ],
)
def test_an_accepting_answer_without_a_json_id_is_a_permanent_error(sms_gateway_server, body, said):
    sms_gateway_server.answer(200, body)

    with pytest.raises(PermanentError) as caught:
        http_gateway(sms_gateway_server).send("+79161234567", "Hi", "k")

    assert type(caught.value) is PermanentError
    assert caught.value.reason == (
        f"the SMS gateway accepted the message (HTTP 200) without a JSON id: {said}"
    )


# --- the file and console gateways -------------------------------------------------------------


def test_file_gateway_appends_one_json_line_per_message_creating_the_folder(tmp_path):
    path = tmp_path / "not" / "yet" / "sms.jsonl"
    outbox = FileGateway(str(path), sender="CRM")
    before = datetime.now(UTC).replace(microsecond=0, tzinfo=None)

    first = outbox.send("+79161234567", "Счёт №5 оплачен", "k1")
    second = outbox.send("+79160000000", 'Line "two"\nend', "k2")

    after = datetime.now(UTC).replace(tzinfo=None)
    lines = path.read_bytes().decode("utf-8").split("\n")
    assert lines[2] == "" and len(lines) == 3  # two lines, each ended
    pattern = re.compile(
        r'\{"id": "(file-[0-9a-f]{32})", "to": "(.*?)", "text": "(.*?)", "sender": "CRM", '
        r'"at": "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"\}'
    )
    got = [pattern.fullmatch(line).groups() for line in lines[:2]]
    assert [g[:3] for g in got] == [
        (first, "+79161234567", "Счёт №5 оплачен"),
        (second, "+79160000000", r"Line \"two\"\nend"),
    ]
    for *_, at in got:
        assert before <= datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ") <= after
    assert first != second


WRITER = textwrap.dedent(
    """
    import sys
    from crm.messaging.backends.sms import FileGateway

    path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    outbox = FileGateway(path, sender=name)
    filler = name * 3000  # lines longer than a pipe buffer: only the lock keeps them whole
    for n in range(count):
        outbox.send("+7916000%04d" % n, "%s %d %s" % (name, n, filler), "k")
    """
)


def test_two_processes_appending_to_the_file_keep_every_line_whole(tmp_path):
    path = tmp_path / "sms.jsonl"
    count = 300
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, str(count)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("A", "B")
    ]
    for writer in writers:
        _, errors = writer.communicate(timeout=120)
        assert writer.returncode == 0, errors

    records = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert len(records) == 2 * count
    for name in ("A", "B"):
        mine = [r for r in records if r["sender"] == name]
        assert [r["text"] for r in mine] == [f"{name} {n} {name * 3000}" for n in range(count)]
        assert [r["to"] for r in mine] == [f"+7916000{n:04d}" for n in range(count)]
    assert len({r["id"] for r in records}) == 2 * count


def test_console_gateway_logs_the_message_and_sends_nothing(caplog):
    with caplog.at_level(logging.INFO, logger="crm.messaging.backends.sms"):
        provider_id = ConsoleGateway(sender="CRM").send("+79161234567", "Привет", "k9")

    assert re.fullmatch(r"console-[0-9a-f]{32}", provider_id)
    [record] = caplog.records
    assert record.getMessage() == (
        f"SMS {provider_id} to +79161234567 from 'CRM' (message k9):\nПривет"
    )


def test_console_gateway_prints_the_message_when_logging_is_not_set_up():
    # As under `flask run` or worker.py, where nothing configures logging.
    code = (
        "from crm.messaging.backends.sms import ConsoleGateway\n"
        "print(ConsoleGateway(sender='CRM').send('+79161234567', 'Привет', 'k9'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    provider_id = done.stdout.strip()
    assert re.fullmatch(r"console-[0-9a-f]{32}", provider_id)
    assert done.stderr == f"SMS {provider_id} to +79161234567 from 'CRM' (message k9):\nПривет\n"


# --- choosing the gateway ----------------------------------------------------------------------


def _settings(**config):
    return SimpleNamespace(config={"SMS_SENDER": "CRM", **config})


def test_sms_backend_setting_chooses_the_gateway(tmp_path):
    assert type(gateway(_settings(SMS_BACKEND="console"))) is ConsoleGateway
    chosen = gateway(_settings(SMS_BACKEND="file", SMS_FILE=str(tmp_path / "o.jsonl")))
    assert type(chosen) is FileGateway and chosen.path == tmp_path / "o.jsonl"
    chosen = gateway(
        _settings(
            SMS_BACKEND="http",
            SMS_HTTP_URL="https://sms.example.test/send",
            SMS_HTTP_TOKEN="t",
            SMS_HTTP_TIMEOUT=7.5,
        )
    )
    assert type(chosen) is HttpJsonGateway
    assert (chosen.url, chosen.token, chosen.sender, chosen.timeout) == (
        "https://sms.example.test/send",
        "t",
        "CRM",
        7.5,
    )


def test_the_app_sends_through_the_configured_http_gateway(sms_http_app, sms_gateway_server):
    assert gateway().send("+79161234567", "Hi", "k") == "gw-1"
    assert sms_gateway_server.requests[0].json["sender"] == "CRM"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"SMS_BACKEND": "foo"},
            "SMS_BACKEND='foo' is not a known SMS backend; use one of: console, file, http",
        ),
        (
            {"SMS_BACKEND": "http", "SMS_HTTP_URL": ""},
            "SMS_BACKEND=http needs SMS_HTTP_URL, the gateway's http:// or https:// address"
            " (now '')",
        ),
        (
            {"SMS_BACKEND": "http", "SMS_HTTP_URL": "ftp://sms.example.test/"},
            "SMS_BACKEND=http needs SMS_HTTP_URL, the gateway's http:// or https:// address"
            " (now 'ftp://sms.example.test/')",
        ),
        (
            {"SMS_BACKEND": "http", "SMS_HTTP_URL": "https://sms.example.test/a b"},
            "SMS_BACKEND=http needs SMS_HTTP_URL, the gateway's http:// or https:// address"
            " (now 'https://sms.example.test/a b')",
        ),
        (
            {
                "SMS_BACKEND": "http",
                "SMS_HTTP_URL": "https://sms.example.test/",
                "SMS_HTTP_TOKEN": "abc\r\nX-Evil: 1",
            },
            "SMS_HTTP_TOKEN must not contain spaces or control characters",
        ),
        (
            {
                "SMS_BACKEND": "http",
                "SMS_HTTP_URL": "https://sms.example.test/",
                "SMS_HTTP_TIMEOUT": 0,
            },
            "SMS_HTTP_TIMEOUT must be a number of seconds above 0 (0)",
        ),
    ],
)
def test_unusable_sms_settings_stop_the_app_at_start_naming_the_setting(tmp_path, config, message):
    settings = base_config("sqlite:///" + str(tmp_path / "db.sqlite3")) | config

    with pytest.raises(SmsConfigError) as caught:
        create_app(settings, instance_path=str(tmp_path / "instance"))

    assert str(caught.value) == message
    with pytest.raises(SmsConfigError):
        gateway(_settings(**config))  # and no gateway is made of them later either
