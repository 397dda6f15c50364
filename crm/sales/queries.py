"""Reads of the sales ledger for pages: a partner's purchases (last documents, monthly totals)
and the rows of the receivables report. The receivable rule itself is in `receivables.py`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from operator import attrgetter
from typing import NamedTuple

from flask import current_app
from sqlalchemy import and_, func, select

from crm.auth.models import User
from crm.core.db import driver_rows
from crm.core.policy import rows_clause
from crm.core.timeutil import to_zone, utcnow
from crm.extensions import db
from crm.partners.models import Partner
from crm.sales.models import SalesDocument
from crm.sales.receivables import ZERO, receivables

CHART_MONTHS = 24
LAST_DOCUMENTS = 10


def local_today(user=None) -> date:
    """Today in the user's time zone (the app's default zone without a user)."""
    zone = getattr(user, "timezone", None) or current_app.config["DEFAULT_TIMEZONE"]
    return to_zone(utcnow(), zone).date()


# --- the partner card ------------------------------------------------------------------------


def last_documents(partner_id: int, limit: int = LAST_DOCUMENTS) -> list[SalesDocument]:
    return list(
        db.session.execute(
            select(SalesDocument)
            .where(SalesDocument.partner_id == partner_id)
            .order_by(SalesDocument.date.desc(), SalesDocument.id.desc())
            .limit(limit)
        ).scalars()
    )


def month_starts(last: date, months: int) -> list[date]:
    """The first days of `months` calendar months ending with `last`'s month, oldest first."""
    index = last.year * 12 + last.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - months + 1, index + 1)]


def _month_key(column):
    if db.engine.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def monthly_totals(partner_id: int, today: date, months: int = CHART_MONTHS):
    """[(first day of month, Σ document totals)] for the `months` months ending with today's,
    months without documents included (returns count negative)."""
    starts = month_starts(today, months)
    key = _month_key(SalesDocument.date).label("month")
    rows = db.session.execute(
        select(key, func.sum(SalesDocument.total))
        .where(
            SalesDocument.partner_id == partner_id,
            SalesDocument.date >= starts[0],
            SalesDocument.date <= today,
        )
        .group_by(key)
    ).all()
    sums = {month: total for month, total in rows}
    return [(m, sums.get(m.strftime("%Y-%m"), ZERO)) for m in starts]


# --- the receivables report ------------------------------------------------------------------


class ReceivableRow(NamedTuple):
    partner_id: int
    code: str
    name: str
    manager: str
    debt: Decimal
    overdue: Decimal
    oldest_overdue: date | None


# Sort fields of the report; ties always by partner code ascending.
SORT_FIELDS = {
    "debt": attrgetter("debt"),
    "overdue": attrgetter("overdue"),
    "oldest": lambda r: r.oldest_overdue or date.max,
    "code": attrgetter("code"),
    "name": lambda r: r.name.casefold(),
}


def manager_clause(manager: str):
    """SQL condition for the report's manager filter: "" any, "none" nobody, or a user id."""
    if manager == "none":
        return Partner.responsible_id.is_(None)
    if manager:
        return Partner.responsible_id == int(manager)
    return None


def receivable_rows(
    user, as_of: date, manager: str = "", sort: str = "-debt", where=()
) -> list[ReceivableRow]:
    """Partners with debt ≠ 0 as of `as_of` that `user` may see (every partner without a user,
    as the CLI runs), in `sort` order ("debt", "-debt", "overdue", …; ties by code); `where`:
    more conditions on Partner (the report's partner scopes, e.g. a segment)."""
    conditions = [
        c
        for c in (rows_clause(user, Partner) if user is not None else None, manager_clause(manager))
        if c is not None
    ] + list(where)
    where = and_(*conditions) if conditions else None
    balances = receivables(as_of, where=where)
    debtors = {pid: b for pid, b in balances.items() if b.debt != 0}
    rows = []
    if debtors:
        managers = {u.id: u.display_name for u in db.session.execute(select(User)).scalars()}
        info = select(Partner.id, Partner.code, Partner.name, Partner.responsible_id)
        if where is not None:
            info = info.where(where)
        for pid, code, name, manager_id in driver_rows(info):
            b = debtors.get(pid)
            if b is not None:
                rows.append(
                    ReceivableRow(
                        pid,
                        code,
                        name,
                        managers.get(manager_id, ""),
                        b.debt,
                        b.overdue,
                        b.oldest_overdue,
                    )
                )
    field = sort.lstrip("-")
    rows.sort(key=attrgetter("code"))
    rows.sort(key=SORT_FIELDS.get(field, SORT_FIELDS["debt"]), reverse=sort.startswith("-"))
    return rows


def totals(rows: list[ReceivableRow]) -> tuple[Decimal, Decimal]:
    return sum((r.debt for r in rows), ZERO), sum((r.overdue for r in rows), ZERO)
