"""Factory fixtures of the sales tests: products, documents (with lines) and payments."""

from __future__ import annotations

import pytest


@pytest.fixture
def make_product(app):
    """make_product(sku=None, name=None, **fields) -> Product."""
    from tests.factories import create_product

    return create_product


@pytest.fixture
def make_document(app):
    """make_document(partner, amounts=(100,), doc_no=None, date=None, due_date=None, **fields)
    -> SalesDocument with one line per amount and total = Σ amounts."""
    from tests.factories import create_document

    return create_document


@pytest.fixture
def make_payment(app):
    """make_payment(partner, amount, date, doc_no="") -> Payment."""
    from tests.factories import create_payment

    return create_payment
