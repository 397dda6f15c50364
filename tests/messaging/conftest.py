"""Fixtures of the messaging tests. Each part of the domain keeps its fixtures in its own
block below."""


# --- SMS gateway (H6) --------------------------------------------------------------------------

import pytest  # noqa: E402

from tests.messaging.sms_helpers import SmsGatewayServer  # noqa: E402


@pytest.fixture
def sms_gateway_server():
    """A local HTTP server playing the SMS gateway (tests/messaging/sms_helpers.py)."""
    server = SmsGatewayServer().start()
    yield server
    server.stop()


@pytest.fixture
def sms_http_app(app, sms_gateway_server):
    """The app sending SMS through the HTTP JSON gateway to `sms_gateway_server`."""
    app.config.update(
        SMS_BACKEND="http",
        SMS_HTTP_URL=sms_gateway_server.url,
        SMS_HTTP_TOKEN="gateway-secret",
        SMS_SENDER="CRM",
        SMS_HTTP_TIMEOUT=5,
    )
    return app
