"""Reports "Partner contact information" and "Contact person contact information": the
filtered partner list with every contact detail, printable and exportable.

The downloads are meant for people: headers and codes (roles, kinds, channels) are in the
reader's language; a birthday is a date cell in XLSX and an ISO date in CSV."""

from __future__ import annotations

from datetime import date
from itertools import islice

from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.core.formats import fmt_date
from crm.exporting import EXPORT_FORMATS, export_response
from crm.htmx import render
from crm.partners import bp, queries
from crm.partners.filters import PartnerFilter
from crm.partners.labels import channel_title, kind_title, role_titles
from crm.partners.views import offer_choices

REPORT_PAGE_SIZE = 100
# The print view ("print all") holds every row up to here; a browser lays out a page of this
# many rows in a few seconds, and a longer list is for the downloads, which it says.
PRINT_LIMIT = 5000

PARTNER_COLUMNS = [
    _l("Code"),
    _l("Partner"),
    _l("Kind"),
    _l("Roles"),
    _l("Tax id"),
    _l("City"),
    _l("Responsible"),
    _l("E-mails"),
    _l("Phones"),
    _l("Addresses"),
    _l("Messengers"),
    _l("Websites"),
    _l("Preferred channel"),
    _l("Do not contact"),
]
PERSON_COLUMNS = [
    _l("Partner code"),
    _l("Partner"),
    _l("Contact person"),
    _l("Position"),
    _l("Birthday"),
    _l("E-mails"),
    _l("Phones"),
    _l("Addresses"),
    _l("Messengers"),
    _l("Websites"),
]
# The ways of contact a partner opted out of, as the report names them.
OPT_OUTS = {
    "do_not_email": _l("e-mail"),
    "do_not_call": _l("phone calls"),
    "do_not_sms": _l("SMS"),
    "do_not_mail": _l("post"),
}


def _joined(owner, kind: str) -> str:
    return "; ".join(
        d.value + (f" ({d.label})" if d.label else "")
        for d in owner.contact_details
        if d.kind == kind
    )


def partner_row(p) -> list:
    opt_outs = [str(title) for f, title in OPT_OUTS.items() if getattr(p, f)]
    return [
        p.code,
        p.name,
        kind_title(p.kind),
        role_titles(p.roles),
        p.inn,
        p.city,
        p.responsible.display_name if p.responsible else "",
        *(_joined(p, k) for k in ("email", "phone", "address", "messenger", "website")),
        channel_title(p.preferred_channel),
        ", ".join(opt_outs),
    ]


def person_rows(p):
    for person in p.contact_persons:
        yield [
            p.code,
            p.name,
            person.name,
            person.position,
            person.birthday or "",
            *(_joined(person, k) for k in ("email", "phone", "address", "messenger", "website")),
        ]


def _report(kind: str):
    flt = PartnerFilter.from_args(request.args)
    fmt = request.args.get("format", "")
    columns = [str(c) for c in (PARTNER_COLUMNS if kind == "partners" else PERSON_COLUMNS)]
    if fmt in EXPORT_FORMATS:
        rows = queries.iter_partners(current_user, flt)
        if kind == "partners":
            data = (partner_row(p) for p in rows)
        else:
            data = (row for p in rows for row in person_rows(p))
        name = "partner-contacts" if kind == "partners" else "contact-person-contacts"
        return export_response(fmt, name, columns, data)
    if request.args.get("print") == "all":
        return _print_all(kind, flt, columns)
    page = queries.partner_page(current_user, flt, REPORT_PAGE_SIZE, persons=kind == "persons")
    if kind == "partners":
        rows = [partner_row(p) for p in page.items]
    else:
        rows = [row for p in page.items for row in person_rows(p)]
    rows = [_shown(row) for row in rows]
    offer_choices(flt)
    return render(
        "partners/report.html",
        "partners/_report_results.html",
        kind=kind,
        flt=flt,
        page=page,
        columns=columns,
        rows=rows,
    )


def _shown(row: list) -> list:
    return [fmt_date(v) if isinstance(v, date) else v for v in row]


def _print_all(kind: str, flt: PartnerFilter, columns: list[str]):
    """Every row of the filter on one unpaged page to print (up to PRINT_LIMIT rows)."""
    partners = queries.iter_partners(current_user, flt)
    if kind == "partners":
        data = (partner_row(p) for p in partners)
    else:
        data = (row for p in partners for row in person_rows(p))
    rows = [_shown(row) for row in islice(data, PRINT_LIMIT + 1)]
    cut = len(rows) > PRINT_LIMIT
    return render(
        "partners/report_print.html",
        kind=kind,
        flt=flt,
        columns=columns,
        rows=rows[:PRINT_LIMIT],
        cut=cut,
        limit=PRINT_LIMIT,
    )


@bp.route("/reports/contacts")
def report_contacts():
    """Partner contact information: every contact detail of the filtered partners."""
    return _report("partners")


@bp.route("/reports/persons")
def report_persons():
    """Contact person contact information: the persons of the filtered partners."""
    return _report("persons")
