"""Files attached to interactions: stored under UPLOAD_FOLDER/interactions by a random name
(the user's file name is kept only as a label), served only to those who see the interaction."""

from __future__ import annotations

import mimetypes
import os
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from crm.core import audit
from crm.core.errors import DomainError
from crm.extensions import db
from crm.interactions.models import Attachment, Interaction
from crm.interactions.services import ensure_can_edit

MAX_FILES = 20


def folder() -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"]) / "interactions"
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(attachment: Attachment) -> Path:
    return folder() / attachment.stored_name


def add_attachments(actor, i: Interaction, files) -> list[Attachment]:
    """Store uploaded files (werkzeug FileStorage); all or none (a bad one stores nothing)."""
    ensure_can_edit(actor, i)
    files = [f for f in files if f and f.filename]
    if not files:
        return []
    if len(i.attachments) + len(files) > MAX_FILES:
        raise DomainError(
            _("At most %(num)s files per interaction.", num=MAX_FILES),
            {"attachments": [_("At most %(num)s files.", num=MAX_FILES)]},
        )
    written: list[Path] = []
    added = []
    try:
        for upload in files:
            stored = secrets.token_hex(16)
            target = folder() / stored
            upload.save(target)
            written.append(target)
            size = target.stat().st_size
            if size == 0:
                empty = _("%(name)s is empty.", name=upload.filename[:80])
                raise DomainError(empty, {"attachments": [empty]})
            # By the name as given: secure_filename drops non-ASCII names down to their
            # extension ("Счёт.pdf" -> "pdf"), which no longer reads as a PDF.
            kind = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
            att = Attachment(
                filename=upload.filename[:255],
                stored_name=stored,
                size=size,
                content_type=kind,
                uploaded_by_id=actor.id,
            )
            i.attachments.append(att)
            added.append(att)
        db.session.flush()
    except Exception:
        for target in written:
            target.unlink(missing_ok=True)
        raise
    for att in added:
        audit.record(actor, "create", att, root=i, summary=f"attached {att.filename}"[:500])
    return added


def delete_attachment(actor, i: Interaction, attachment: Attachment) -> Path:
    """Remove the row; returns the file to unlink once the transaction is committed (a failed
    commit then keeps both)."""
    ensure_can_edit(actor, i)
    target = path_of(attachment)
    audit.record(actor, "delete", attachment, root=i, summary=f"removed {attachment.filename}")
    i.attachments.remove(attachment)
    db.session.flush()
    return target


def unlink_quietly(target: Path) -> None:
    try:
        os.unlink(target)
    except FileNotFoundError:
        pass
