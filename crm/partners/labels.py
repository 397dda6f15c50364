"""What people read for the partner domain's stored codes: roles, kinds, channels, kinds of
contact details and the names of audited fields, in the reader's language.

The codes themselves (client, email, created_on…) stay as they are in the database, the
exchange files and the API; only pages translate them. Short words such as "Other" or "Phone"
carry a context so that their Russian here never collides with another catalog's."""

from __future__ import annotations

from flask_babel import lazy_pgettext

from crm.partners.models import CHANNELS, CONTACT_KINDS, PARTNER_KINDS, PARTNER_ROLES

ROLE_TITLES = {
    "client": lazy_pgettext("partner role", "Client"),
    "supplier": lazy_pgettext("partner role", "Supplier"),
    "competitor": lazy_pgettext("partner role", "Competitor"),
    "other": lazy_pgettext("partner role", "Other"),
}
KIND_TITLES = {
    "company": lazy_pgettext("partner kind", "Company"),
    "person": lazy_pgettext("partner kind", "Person"),
}
CHANNEL_TITLES = {
    "email": lazy_pgettext("channel", "E-mail"),
    "phone": lazy_pgettext("channel", "Phone"),
    "sms": lazy_pgettext("channel", "SMS"),
    "messenger": lazy_pgettext("channel", "Messenger"),
    "meeting": lazy_pgettext("channel", "Meeting"),
    "mail": lazy_pgettext("channel", "Post"),
}
CONTACT_KIND_TITLES = {
    "email": lazy_pgettext("contact detail", "E-mail"),
    "phone": lazy_pgettext("contact detail", "Phone"),
    "address": lazy_pgettext("contact detail", "Address"),
    "messenger": lazy_pgettext("contact detail", "Messenger"),
    "website": lazy_pgettext("contact detail", "Website"),
}
# Names of the fields the History tab and the merge preview show (audit `changes` keys).
FIELD_TITLES = {
    "name": lazy_pgettext("partner field", "Name"),
    "code": lazy_pgettext("partner field", "Code"),
    "kind": lazy_pgettext("partner field", "Kind"),
    "roles": lazy_pgettext("partner field", "Roles"),
    "inn": lazy_pgettext("partner field", "Tax id (INN)"),
    "city": lazy_pgettext("partner field", "City"),
    "responsible": lazy_pgettext("partner field", "Responsible"),
    "responsible_id": lazy_pgettext("partner field", "Responsible"),
    "notes": lazy_pgettext("partner field", "Notes"),
    "preferred_channel": lazy_pgettext("partner field", "Preferred channel"),
    "best_time_to_call": lazy_pgettext("partner field", "Best time to call"),
    "do_not_email": lazy_pgettext("partner field", "Do not e-mail"),
    "do_not_call": lazy_pgettext("partner field", "Do not call"),
    "do_not_sms": lazy_pgettext("partner field", "Do not send SMS"),
    "do_not_mail": lazy_pgettext("partner field", "Do not send post"),
    "created_on": lazy_pgettext("partner field", "Created on"),
    "tags": lazy_pgettext("partner field", "Tags"),
    "email": lazy_pgettext("partner field", "E-mail"),
    "phone": lazy_pgettext("partner field", "Phone"),
    "address": lazy_pgettext("partner field", "Address"),
    "messenger": lazy_pgettext("partner field", "Messenger"),
    "website": lazy_pgettext("partner field", "Website"),
    "main": lazy_pgettext("partner field", "Main contact detail"),
    "merged": lazy_pgettext("partner field", "Merged partner"),
    "position": lazy_pgettext("partner field", "Position"),
    "label": lazy_pgettext("partner field", "Label"),
    "value": lazy_pgettext("partner field", "Value"),
    "birthday": lazy_pgettext("partner field", "Birthday"),
}

# Tables whose rows a merge moves, as the partner domain names them; a table of another domain
# is shown by its name (it is that domain's word).
TABLE_TITLES = {
    "contact_detail": lazy_pgettext("records", "contact details"),
    "contact_person": lazy_pgettext("records", "contact persons"),
    "partner_tag": lazy_pgettext("records", "tags"),
}

# A contact person's name: ФИО in Russian, not a company's наименование.
PERSON_NAME = lazy_pgettext("contact person field", "Name")

assert set(ROLE_TITLES) == set(PARTNER_ROLES)
assert set(KIND_TITLES) == set(PARTNER_KINDS)
assert set(CHANNEL_TITLES) == set(CHANNELS)
assert set(CONTACT_KIND_TITLES) == set(CONTACT_KINDS)


def _title(titles: dict, code) -> str:
    """The title of a code; an unknown one (old data, another domain's) is shown as it is."""
    if code in (None, ""):
        return ""
    return str(titles.get(code, code))


def role_titles(roles) -> str:
    """ "Клиент, Поставщик" for ["client", "supplier"] (also a "client, supplier" string)."""
    if isinstance(roles, str):
        roles = [r.strip() for r in roles.replace(";", ",").split(",")]
    return ", ".join(_title(ROLE_TITLES, r) for r in roles if r)


def kind_title(kind) -> str:
    return _title(KIND_TITLES, kind)


def channel_title(channel) -> str:
    return _title(CHANNEL_TITLES, channel)


def contact_kind_title(kind) -> str:
    return _title(CONTACT_KIND_TITLES, kind)


def field_title(key: str) -> str:
    return _title(FIELD_TITLES, key) or key


def table_title(name: str) -> str:
    return str(TABLE_TITLES.get(name, name.replace("_", " ")))


def register_filters(app) -> None:
    """`{{ p.roles|partner_roles }}`, `{{ p.kind|partner_kind }}`, `{{ c|partner_channel }}`,
    `{{ d.kind|contact_kind }}`, `{{ key|partner_field }}`, `{{ table|partner_records }}` in
    the partner templates."""
    app.jinja_env.filters.update(
        partner_roles=role_titles,
        partner_kind=kind_title,
        partner_channel=channel_title,
        contact_kind=contact_kind_title,
        partner_field=field_title,
        partner_records=table_title,
    )
