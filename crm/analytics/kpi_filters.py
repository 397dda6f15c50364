"""The filters of the KPI dashboard and of its client lists: a period (by default this month so
far) and a scope (organization, department, manager of the sales documents). Bad values never
raise: they fall back to the default and are reported (crm.core.filters)."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.analytics.kpi import Scope
from crm.auth.models import User
from crm.core.filters import OWN_NARROWING, ChoiceField, DateField, IdField, ListFilter, PageField
from crm.extensions import db
from crm.partners import queries as partner_queries
from crm.sales.models import Department, Organization

CLIENT_LISTS = {
    "active": _l("Active clients"),
    "new": _l("New clients"),
    "lost": _l("Lost clients"),
    "retained": _l("Retained clients"),
}


class KpiFilter(ListFilter):
    """A period [from, to] (default: the first of this month to today) and a scope (the
    documents' organization, department, manager, and the partner scopes: a segment)."""

    partner_column = OWN_NARROWING

    date_from = DateField(_l("From"), name="from", what=_l("The start of the period"), id="f-from")
    date_to = DateField(_l("To"), name="to", what=_l("The end of the period"), id="f-to")
    organization = IdField(
        _l("Organization"),
        id="f-organization",
        message=_l("Unknown organization ignored."),
        fixed=[("", _l("Any organization"))],
    )
    department = IdField(
        _l("Department"),
        id="f-department",
        message=_l("Unknown department ignored."),
        fixed=[("", _l("Any department"))],
    )
    manager = IdField(
        _l("Manager"),
        id="f-manager",
        message=_l("Unknown manager ignored."),
        fixed=[("", _l("Any manager"))],
    )

    def __init__(self, args=None, today: date | None = None, **kwargs):
        self.today = today or date.today()
        super().__init__(args, **kwargs)

    def check(self) -> None:
        if self.date_to is None:
            self.date_to = self.today
        if self.date_from is None:
            self.date_from = self.date_to.replace(day=1)
        if self.date_from > self.date_to:
            self.date_from, self.date_to = self.date_to, self.date_from
            self.problems.append(_("The period started after it ended: the dates were swapped."))

    @property
    def scope(self) -> Scope:
        return Scope(self.organization, self.department, self.manager, self.partner_ids())

    def fill_choices(self) -> None:
        """The options of the scope selects; an id that names no record is dropped, with a
        message (a well-formed id of nothing would otherwise show an empty dashboard)."""
        organizations = db.session.execute(select(Organization).order_by(Organization.name))
        departments = db.session.execute(select(Department).order_by(Department.name))
        self["organization"].options = [(o.id, o.name) for o in organizations.scalars()]
        self["department"].options = [(d.id, d.name) for d in departments.scalars()]
        managers = [(u.id, u.display_name) for u in partner_queries.responsible_choices()]
        if self.manager is not None and self.manager not in dict(managers):
            # A manager who has left still has his sales: he may be chosen by his id.
            user = db.session.get(User, self.manager)
            if user is not None:
                managers.append((user.id, user.display_name))
        self["manager"].options = managers
        for name in ("organization", "department", "manager"):
            value = getattr(self, name)
            if value is not None and value not in dict(self[name].options):
                self.problems.append(str(self[name].message))
                setattr(self, name, None)


class ClientsFilter(KpiFilter):
    """Which client list (active, new, lost, retained), and a page of it."""

    which = ChoiceField(
        _l("Clients"),
        CLIENT_LISTS,
        default="active",
        keep_default=True,
        id="f-which",
        message=_l("Unknown client list {value} ignored."),
        cut=40,
    )
    page = PageField(_l("Page"))
