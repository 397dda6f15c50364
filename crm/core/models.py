"""Models shared by every domain: the audit log and background job runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.timeutil import utcnow
from crm.extensions import db


class AuditEntry(db.Model):
    """One change to one object: who, when, what (field -> [old, new])."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))  # create, update, delete, merge, ...
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[int]
    # The record whose history page shows this entry (a contact's change shows on its partner).
    root_type: Mapped[str] = mapped_column(String(64))
    root_id: Mapped[int]
    summary: Mapped[str] = mapped_column(String(500), default="")
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    # The object's version after this change (versioned objects only): a stale form lists
    # the entries after the version it was opened at (crm.core.versioning).
    object_version: Mapped[int | None]

    __table_args__ = (
        Index("ix_audit_entry_root", "root_type", "root_id", "at"),
        Index("ix_audit_entry_object", "object_type", "object_id", "object_version"),
    )


class JobRun(db.Model):
    """A background job as the UI sees it: state and progress, polled by the page."""

    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    args: Mapped[list] = mapped_column(JSON, default=list)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued/running/done/failed
    progress: Mapped[int] = mapped_column(default=0)  # 0..total
    total: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    rq_job_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Who runs it ("host:pid:start") and until when: a running job renews its lease every few
    # seconds; one whose lease ran out died with its process (crm.jobs.sweep_dead_jobs).
    worker: Mapped[str] = mapped_column(String(200), default="")
    heartbeat_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]

    __table_args__ = (Index("ix_job_run_status_lease", "status", "lease_until"),)

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return int(self.progress * 100 / self.total) if self.total else 0
