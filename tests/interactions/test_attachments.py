"""Files attached to interactions: uploaded with the form, stored by a random name, served only
to those who may see the interaction, removed with it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from crm.core.models import AuditEntry
from crm.interactions.models import Attachment, Interaction
from tests.interactions.helpers import form, stored
from tests.partners.helpers import count, field_errors, fresh, text

OFFER = b"%PDF-1.4 commercial offer\n" * 40  # 1,040 bytes


@pytest.fixture
def uploads(app, tmp_path) -> Path:
    app.config["UPLOAD_FOLDER"] = str(tmp_path)
    return tmp_path / "interactions"


def stored_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


@pytest.fixture
def mail(client, login_as, make_user, make_partner, uploads):
    """Anna (manager) signed in has recorded an e-mail with two files; Boris takes part."""
    anna = login_as("manager", name="Анна")
    boris = make_user("manager", name="Борис")
    partner = make_partner(name="Ромашка", responsible=anna)
    data = form(
        kind="email", title="КП", partner_id=partner.id, **{"participants-0-user_id": boris.id}
    )
    data["attachments"] = [
        (io.BytesIO(OFFER), "Коммерческое предложение.pdf"),
        (io.BytesIO(b"a;b\n1;2\n"), "prices.csv"),
    ]
    response = client.post("/interactions/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    [i] = stored()
    return {"anna": anna, "boris": boris, "interaction": i}


def test_files_uploaded_with_the_form_are_stored_and_listed(client, mail, uploads):
    i = mail["interaction"]

    rows = [(a.filename, a.size, a.content_type, a.uploaded_by_id) for a in i.attachments]
    assert rows == [
        ("Коммерческое предложение.pdf", 1040, "application/pdf", mail["anna"].id),
        ("prices.csv", 8, "text/csv", mail["anna"].id),
    ]
    on_disk = stored_files(uploads)
    assert sorted(on_disk.values()) == sorted([OFFER, b"a;b\n1;2\n"])
    # Stored by a random name, never by the name the user gave.
    assert all(re.fullmatch(r"[0-9a-f]{32}", name) for name in on_disk)
    assert {a.stored_name for a in i.attachments} == set(on_disk)
    page = text(client.get(f"/interactions/{i.id}"))
    first = i.attachments[0]
    assert (
        f'<a href="/interactions/{i.id}/files/{first.id}">Коммерческое предложение.pdf</a>' in page
    )
    assert "1.0 KB" in page
    assert [e.summary for e in _entries("create", "interaction_attachment")] == [
        "attached Коммерческое предложение.pdf",
        "attached prices.csv",
    ]


def _entries(action: str, object_type: str) -> list[AuditEntry]:
    from sqlalchemy import select

    from crm.extensions import db

    return list(
        db.session.execute(
            select(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.object_type == object_type)
            .order_by(AuditEntry.id)
        ).scalars()
    )


def test_download_gives_the_file_under_its_name(client, mail):
    i = mail["interaction"]
    first = i.attachments[0]

    response = client.get(f"/interactions/{i.id}/files/{first.id}")

    assert response.status_code == 200
    assert response.data == OFFER
    assert response.headers["Content-Type"] == "application/octet-stream"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert (
        "filename*=UTF-8''%D0%9A%D0%BE%D0%BC%D0%BC%D0%B5%D1%80%D1%87%D0%B5%D1%81%D0%BA%D0%BE"
        "%D0%B5%20%D0%BF%D1%80%D0%B5%D0%B4%D0%BB%D0%BE%D0%B6%D0%B5%D0%BD%D0%B8%D0%B5.pdf"
    ) in disposition


def test_download_only_for_those_who_may_see_the_interaction(client, mail, login_as):
    i = mail["interaction"]
    url = f"/interactions/{i.id}/files/{i.attachments[1].id}"
    codes = {}
    for who in ("boris", "stranger", "viewer", "admin"):
        user = mail.get(who) or login_as(who if who != "stranger" else "manager")
        login_as(user)
        codes[who] = client.get(url).status_code

    assert codes == {"boris": 200, "stranger": 403, "viewer": 200, "admin": 200}


def test_file_of_another_interaction_is_not_found(client, mail, make_interaction):
    other = make_interaction(mail["anna"], "call", contact_text="x")
    attachment = mail["interaction"].attachments[0]

    response = client.get(f"/interactions/{other.id}/files/{attachment.id}")

    assert response.status_code == 404


def test_removing_a_file_deletes_it_from_the_disk(client, mail, uploads):
    i = mail["interaction"]
    first, second = i.attachments

    response = client.post(f"/interactions/{i.id}/files/{first.id}/delete")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/interactions/{i.id}"
    assert set(stored_files(uploads)) == {second.stored_name}
    assert fresh(Attachment, first.id) is None
    assert "The file is removed." in text(client.get(f"/interactions/{i.id}"))
    assert client.get(f"/interactions/{i.id}/files/{first.id}").status_code == 404
    assert [e.summary for e in _entries("delete", "interaction_attachment")] == [
        "removed Коммерческое предложение.pdf"
    ]


def test_only_the_responsible_user_removes_files(client, mail, uploads, login_as):
    i = mail["interaction"]
    before = stored_files(uploads)
    login_as(mail["boris"])  # he takes part: he may read, not remove

    response = client.post(f"/interactions/{i.id}/files/{i.attachments[0].id}/delete")

    assert response.status_code == 403
    assert stored_files(uploads) == before
    assert count(Attachment) == 2


def test_files_added_on_edit_join_the_ones_there(client, mail, uploads):
    i = mail["interaction"]
    data = form(
        kind="email",
        title="КП",
        partner_id=i.partner_id,
        **{"participants-0-user_id": mail["boris"].id},
    )
    data["attachments"] = [(io.BytesIO(b"signed"), "contract.docx")]

    response = client.post(
        f"/interactions/{i.id}/edit", data=data, content_type="multipart/form-data"
    )

    assert response.status_code == 302
    i = fresh(Interaction, i.id)
    assert [a.filename for a in i.attachments] == [
        "Коммерческое предложение.pdf",
        "prices.csv",
        "contract.docx",
    ]
    assert len(stored_files(uploads)) == 3


def test_deleting_the_interaction_deletes_its_files(client, mail, uploads):
    response = client.post(f"/interactions/{mail['interaction'].id}/delete")

    assert response.status_code == 302
    assert stored_files(uploads) == {}
    assert count(Attachment) == 0


def test_empty_file_is_refused_and_nothing_is_kept(client, login_as, uploads):
    login_as("manager")
    data = form(contact_text="Олег")
    data["attachments"] = [(io.BytesIO(b"fine"), "ok.txt"), (io.BytesIO(b""), "empty.txt")]

    response = client.post("/interactions/new", data=data, content_type="multipart/form-data")

    assert response.status_code == 422
    assert field_errors(text(response), "attachments") == ["empty.txt is empty."]
    assert (count(Interaction), count(Attachment)) == (0, 0)
    assert stored_files(uploads) == {}


def test_a_path_in_the_file_name_is_only_a_label(client, login_as, uploads):
    login_as("manager")
    data = form(contact_text="Олег")
    data["attachments"] = [(io.BytesIO(b"root:x:0:0"), "../../etc/passwd")]

    response = client.post("/interactions/new", data=data, content_type="multipart/form-data")

    assert response.status_code == 302
    [i] = stored()
    [name] = stored_files(uploads)
    assert re.fullmatch(r"[0-9a-f]{32}", name)
    assert i.attachments[0].filename == "../../etc/passwd"
    assert list(uploads.parent.iterdir()) == [uploads]
