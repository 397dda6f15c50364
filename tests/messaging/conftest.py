"""Fixtures of the messaging tests. Each part of the domain keeps its fixtures in its own
block below."""


# --- delivery (H2) -------------------------------------------------------------------------

import pytest  # noqa: E402


@pytest.fixture
def mail_server(app):
    """A real SMTP server on 127.0.0.1 the app sends through (tests.messaging.
    delivery_helpers.MailServer: answers set per address)."""
    from tests.messaging.delivery_helpers import running_mail_server

    with running_mail_server(app) as server:
        yield server


@pytest.fixture(autouse=True)
def _sending_thread_done(request):
    """A test that kicked the sending thread (no Redis) leaves it finished before its tables
    are emptied (asked for here, `app` is torn down after this fixture)."""
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    if app is not None:
        from crm.messaging.delivery import wait_for_sending_thread

        assert wait_for_sending_thread(app, timeout=60), "the sending thread did not finish"
