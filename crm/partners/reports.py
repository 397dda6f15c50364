"""Reports "Partner contact information" and "Contact person contact information": the
filtered partner list with every contact detail, printable and exportable."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from crm.exporting import EXPORT_FORMATS, export_response
from crm.htmx import render
from crm.partners import bp, queries
from crm.partners.filters import PartnerFilter
from crm.partners.views import offer_choices

REPORT_PAGE_SIZE = 100

PARTNER_COLUMNS = [
    "Code",
    "Partner",
    "Kind",
    "Roles",
    "Tax id",
    "City",
    "Responsible",
    "E-mails",
    "Phones",
    "Addresses",
    "Messengers",
    "Websites",
    "Preferred channel",
    "Do not contact",
]
PERSON_COLUMNS = [
    "Partner code",
    "Partner",
    "Contact person",
    "Position",
    "Birthday",
    "E-mails",
    "Phones",
    "Addresses",
    "Messengers",
    "Websites",
]


def _joined(owner, kind: str) -> str:
    return "; ".join(
        d.value + (f" ({d.label})" if d.label else "")
        for d in owner.contact_details
        if d.kind == kind
    )


def partner_row(p) -> list:
    opt_outs = [
        f.replace("do_not_", "")
        for f in ("do_not_email", "do_not_call", "do_not_sms", "do_not_mail")
        if getattr(p, f)
    ]
    return [
        p.code,
        p.name,
        p.kind,
        ", ".join(p.roles),
        p.inn,
        p.city,
        p.responsible.display_name if p.responsible else "",
        *(_joined(p, k) for k in ("email", "phone", "address", "messenger", "website")),
        p.preferred_channel,
        ", ".join(opt_outs),
    ]


def person_rows(p):
    for person in p.contact_persons:
        yield [
            p.code,
            p.name,
            person.name,
            person.position,
            person.birthday.isoformat() if person.birthday else "",
            *(_joined(person, k) for k in ("email", "phone", "address", "messenger", "website")),
        ]


def _report(kind: str):
    flt = PartnerFilter.from_args(request.args)
    fmt = request.args.get("format", "")
    columns = PARTNER_COLUMNS if kind == "partners" else PERSON_COLUMNS
    if fmt in EXPORT_FORMATS:
        rows = queries.iter_partners(current_user, flt)
        if kind == "partners":
            data = (partner_row(p) for p in rows)
        else:
            data = (row for p in rows for row in person_rows(p))
        name = "partner-contacts" if kind == "partners" else "contact-person-contacts"
        return export_response(fmt, name, columns, data)
    page = queries.partner_page(current_user, flt, REPORT_PAGE_SIZE, persons=kind == "persons")
    if kind == "partners":
        rows = [partner_row(p) for p in page.items]
    else:
        rows = [row for p in page.items for row in person_rows(p)]
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


@bp.route("/reports/contacts")
def report_contacts():
    """Partner contact information: every contact detail of the filtered partners."""
    return _report("partners")


@bp.route("/reports/persons")
def report_persons():
    """Contact person contact information: the persons of the filtered partners."""
    return _report("persons")
