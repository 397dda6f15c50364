"""The sales fact of the partner card's header: debt and overdue debt today."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from crm.partners.card import CardFact
from crm.sales.queries import local_today
from crm.sales.receivables import partner_balance


def debt_fact(partner) -> str:
    balance = partner_balance(partner.id, local_today(current_user))
    return render_template("sales/_card_debt.html", partner=partner, balance=balance)


FACT = CardFact("debt", debt_fact, 10)
