"""The receivables report as a selection of partners (crm.core.selections): the partners with
debt or credit as of its date that it shows the user (with its manager and partner-scope
filters), so the report's list can be saved as a segment or turned into calls."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user

from crm.core.formats import fmt_date
from crm.core.selections import SelectionSource
from crm.partners import queries as partner_queries
from crm.sales import queries
from crm.sales.filters import ReceivablesFilter

KEY = "receivables"


def _filter(args, user=None) -> ReceivablesFilter:
    reader = user if user is not None else current_user
    return ReceivablesFilter.from_args(args, queries.local_today(reader))


def partner_ids(args, user):
    flt = _filter(args, user)
    rows = queries.receivable_rows(user, flt.as_of, flt.manager, flt.sort, flt.extra_clauses())
    return [r.partner_id for r in rows]


def name(args) -> str:
    flt = _filter(args)
    flt["manager"].options = [(u.id, u.display_name) for u in partner_queries.responsible_choices()]
    parts = flt.summary(skip=("sort", "page", "as_of_date"))
    title = _("Receivables as of %(date)s", date=fmt_date(flt.as_of))
    return f"{title}: {'; '.join(parts)}" if parts else title


SOURCE = SelectionSource(KEY, partner_ids, name)
