"""An uploaded import file and what its validation found, read by the preview page."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.timeutil import utcnow
from crm.extensions import db

STATUSES = ("validating", "validated", "rejected", "importing", "done", "failed")
# The states as the pages name them.
STATUS_TITLES = {
    "validating": _l("Checking"),
    "validated": _l("Checked"),
    "rejected": _l("Rejected"),
    "importing": _l("Importing"),
    "done": _l("Imported"),
    "failed": _l("Failed"),
}
# The state in which a file's rows are being written: at most one import of a kind at a time.
WRITING = "importing"


class ImportFile(db.Model):
    __tablename__ = "import_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64))  # under instance/uploads/
    size: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="validating")
    valid_only: Mapped[bool] = mapped_column(default=False)
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        # Two admins confirming imports of one kind at once: the database lets one through
        # (a partial unique index works alike on SQLite and PostgreSQL).
        Index(
            "uq_import_file_kind_writing",
            "kind",
            unique=True,
            sqlite_where=text("status = 'importing'"),
            postgresql_where=text("status = 'importing'"),
        ),
    )
