"""Fixtures of the account tests."""

import pytest

from tests.auth.helpers import new_browser


@pytest.fixture
def other_browser(app):
    """other_browser() -> another browser (own cookies, nobody signed in)."""
    return lambda: new_browser(app)
