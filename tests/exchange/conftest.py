"""Fixtures of the exchange tests."""

from __future__ import annotations

import pytest

from crm.exchange.importer import run_import
from tests.exchange import samples
from tests.exchange.helpers import TODAY, write_file


@pytest.fixture
def ledger(app, make_partner, tmp_path_factory):
    """Partners P-001, P-002 and products SKU-1, SKU-2, plus one stored sale to keep."""
    samples.prepare("sales", make_partner)
    old_sale = ["OLD-1", "1", "2024-01-01", "P-001", "SKU-1", "1", "5"]
    path = write_file(tmp_path_factory.mktemp("ledger"), [samples.SALES_LINE_HEADER, old_sale])
    assert run_import(path, "sales", today=TODAY).done
