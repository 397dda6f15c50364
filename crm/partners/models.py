"""Partners (companies and persons), their contact persons, contact details and tags."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.db import enable_pg_trgm
from crm.core.timeutil import site_today, utcnow
from crm.core.versioning import Versioned
from crm.extensions import db

PARTNER_KINDS = ("company", "person")
# What the partner list sorts and filters on, in list order (see Partner's scan indexes);
# search_text, read for every entry, comes first after the order (SQLite reaches it sooner).
_SCANNED = (
    "name_norm",
    "id",
    "search_text",
    "city_norm",
    "code",
    "created_on",
    "is_client",
    "is_supplier",
    "is_competitor",
    "is_other",
)
PARTNER_ROLES = ("client", "supplier", "competitor", "other")
CONTACT_KINDS = ("email", "phone", "address", "messenger", "website")
CHANNELS = ("email", "phone", "sms", "messenger", "meeting", "mail")

partner_tag = Table(
    "partner_tag",
    db.metadata,
    Column("partner_id", ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_partner_tag_tag", "tag_id", "partner_id"),
)


class Tag(db.Model):
    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    name_norm: Mapped[str] = mapped_column(String(64), unique=True)


def _trgm_wanted(ddl, target, bind, **kw) -> bool:
    # Without a connection (DDL written out as text) it is written as for a database with it.
    return bind is None or enable_pg_trgm(bind)


def search_trgm_index() -> Index:
    """A GIN trigram index on partner.search_text, made on PostgreSQL only and only when the
    pg_trgm extension can be had (migration 0008 does the same for migrated databases)."""
    index = Index(
        "ix_partner_search_trgm",
        "search_text",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    index.ddl_if(dialect="postgresql", callable_=_trgm_wanted)
    return index


class Partner(Versioned, db.Model):
    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16), default="company")
    is_client: Mapped[bool] = mapped_column(default=True)
    is_supplier: Mapped[bool] = mapped_column(default=False)
    is_competitor: Mapped[bool] = mapped_column(default=False)
    is_other: Mapped[bool] = mapped_column(default=False)
    inn: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    notes: Mapped[str] = mapped_column(Text, default="")
    # Preferences: how and when the partner wants to be contacted.
    preferred_channel: Mapped[str] = mapped_column(String(16), default="")
    best_time_to_call: Mapped[str] = mapped_column(String(100), default="")
    do_not_email: Mapped[bool] = mapped_column(default=False)
    do_not_call: Mapped[bool] = mapped_column(default=False)
    do_not_sms: Mapped[bool] = mapped_column(default=False)
    do_not_mail: Mapped[bool] = mapped_column(default=False)
    created_on: Mapped[date] = mapped_column(default=lambda: site_today())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Derived columns kept in sync by services.sync_search (SQLite folds ASCII case only).
    name_norm: Mapped[str] = mapped_column(String(255), default="")
    name_key: Mapped[str] = mapped_column(String(255), default="")
    # The key's first letters: where look-alike names are searched (an equality, so an index
    # works under any database collation; typos after the 4th letter are still found).
    name_prefix: Mapped[str] = mapped_column(String(8), default="")
    city_norm: Mapped[str] = mapped_column(String(120), default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    # A partner merged into another stays as a pointer so old codes still resolve.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))

    responsible = relationship("User", lazy="joined", innerjoin=False)
    tags: Mapped[list[Tag]] = relationship(secondary=partner_tag, order_by=Tag.name_norm)
    contact_details: Mapped[list[ContactDetail]] = relationship(
        back_populates="partner",
        cascade="all, delete-orphan",
        order_by=lambda: [ContactDetail.kind, ContactDetail.is_main.desc(), ContactDetail.id],
    )
    contact_persons: Mapped[list[ContactPerson]] = relationship(
        back_populates="partner",
        cascade="all, delete-orphan",
        order_by="ContactPerson.name_norm",
    )

    __table_args__ = (
        # The list in its default order (name, id), all live partners or a manager's.
        Index("ix_partner_list", "merged_into_id", "name_norm", "id"),
        Index("ix_partner_responsible", "responsible_id", "merged_into_id", "name_norm", "id"),
        # A search word may be anywhere in search_text, so searching reads every live partner.
        # On SQLite these indexes make that read cheap: they hold just the columns the list
        # filters and sorts on (half the table's bytes), in name order, so a page stops as
        # soon as it is full and a table row is read only for a match. The second one is for
        # a manager's own partners. PostgreSQL caps a B-tree entry at 2.7 kB, which a partner
        # with many contact persons exceeds: there they stay empty (WHERE false) and the two
        # indexes above serve the list.
        Index("ix_partner_scan", "merged_into_id", *_SCANNED, postgresql_where=false()),
        Index(
            "ix_partner_scan_responsible",
            "responsible_id",
            "merged_into_id",
            *_SCANNED,
            postgresql_where=false(),
        ),
        # PostgreSQL: a trigram index finds the partners whose search_text contains a word
        # of 3+ letters without reading them all (see search_trgm_index below).
        search_trgm_index(),
        # The city filter in list order: its first 1,001 matches are read and nothing else
        # (without it PostgreSQL walks the name index past every other city's partners).
        # With the roles, "suppliers sorted by city" is read from it alone and stops at the
        # 1,001st supplier (0.8 ms at 1,000,000 partners) instead of sorting the first city's
        # 100,000 partners by name (~150 ms).
        Index(
            "ix_partner_city_list",
            "city_norm",
            "merged_into_id",
            "name_norm",
            "id",
            "is_client",
            "is_supplier",
            "is_competitor",
            "is_other",
        ),
        # With `city`, the filter's city suggestions are read from the index alone.
        Index("ix_partner_city", "city_norm", "city"),
        Index("ix_partner_inn", "inn"),
        Index("ix_partner_name_key", "name_key"),
        Index("ix_partner_name_prefix", "name_prefix"),
        Index("ix_partner_created_on", "created_on"),
        # "Newest first" / "oldest first" in list order: the page is read from here and the
        # read stops when it is full, instead of sorting every partner by date.
        Index("ix_partner_created_list", "merged_into_id", "created_on", "id"),
        CheckConstraint("kind in ('company', 'person')", name="kind"),
    )

    @property
    def roles(self) -> list[str]:
        return [r for r in PARTNER_ROLES if getattr(self, f"is_{r}")]

    def details(self, kind: str) -> list[ContactDetail]:
        return [d for d in self.contact_details if d.kind == kind]

    def main_detail(self, kind: str) -> ContactDetail | None:
        found = self.details(kind)
        return next((d for d in found if d.is_main), found[0] if found else None)


class ContactPerson(Versioned, db.Model):
    __tablename__ = "contact_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    name_norm: Mapped[str] = mapped_column(String(255), default="")
    position: Mapped[str] = mapped_column(String(200), default="")
    birthday: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="contact_persons")
    contact_details: Mapped[list[ContactDetail]] = relationship(
        back_populates="contact_person",
        cascade="all, delete-orphan",
        order_by=lambda: [ContactDetail.kind, ContactDetail.is_main.desc(), ContactDetail.id],
    )

    # The key of contacts.csv and the API: one person of a name (folded) per partner. A unique
    # index (adding it needs no table rebuild on SQLite); it also serves the card's list of
    # persons in name order.
    __table_args__ = (
        Index("uq_contact_person_partner_name", "partner_id", "name_norm", unique=True),
    )

    def details(self, kind: str) -> list[ContactDetail]:
        return [d for d in self.contact_details if d.kind == kind]


class ContactDetail(db.Model):
    """One e-mail, phone, address, messenger or website of a partner or of a contact person."""

    __tablename__ = "contact_detail"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    contact_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_person.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(500))
    # Case-folded e-mail, E.164 phone, folded text otherwise: what duplicates are matched on.
    value_norm: Mapped[str] = mapped_column(String(500), default="")
    label: Mapped[str] = mapped_column(String(100), default="")
    is_main: Mapped[bool] = mapped_column(default=False)

    partner: Mapped[Partner | None] = relationship(back_populates="contact_details")
    contact_person: Mapped[ContactPerson | None] = relationship(back_populates="contact_details")

    __table_args__ = (
        Index("ix_contact_detail_value", "kind", "value_norm"),
        Index("ix_contact_detail_partner", "partner_id"),
        Index("ix_contact_detail_person", "contact_person_id"),
        CheckConstraint("(partner_id IS NULL) <> (contact_person_id IS NULL)", name="one_owner"),
    )

    @property
    def href(self) -> str | None:
        """A link a phone or mail client opens."""
        return detail_href(self.kind, self.value, self.value_norm)


def detail_href(kind: str, value: str, value_norm: str = "") -> str | None:
    """The link of a contact detail a phone or mail client opens (the partner list draws it
    from plain rows, the card from ContactDetail.href)."""
    if kind == "email":
        return f"mailto:{value}"
    if kind == "phone":
        return f"tel:{value_norm or value}"
    if kind == "website":
        return value if value.startswith(("http://", "https://")) else f"https://{value}"
    return None
