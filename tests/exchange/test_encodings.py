"""Files in the encodings people actually have: CP1251 (Excel's "CSV" on a Russian Windows),
UTF-8 with and without a BOM, UTF-16 LE/BE with a BOM. Each imports through the pages with
its Russian names intact and the recognised encoding shown; a file that is not text is refused
with a message and writes nothing."""

from __future__ import annotations

import codecs
import csv
import html
import io
import random
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.exchange.models import ImportFile
from crm.extensions import db
from crm.partners.models import Partner
from tests.exchange.helpers import count, dump

ROWS = [
    ["code", "name", "city"],
    ["P-1", "ООО «Ромашка»", "Москва"],
    ["P-2", "Пётр Иванов", "Санкт-Петербург"],
    ["P-3", "Ёлкин и партнёры", "Тверь"],
]


def _text(sep: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows(ROWS)
    return buf.getvalue()


# name → (file bytes, the label the page must show), each written out by hand.
FILES = {
    "cp1251 semicolon": (_text(";").encode("cp1251"), "Windows-1251"),
    "cp1251 comma": (_text(",").encode("cp1251"), "Windows-1251"),
    "utf-8 with bom": (codecs.BOM_UTF8 + _text(";").encode("utf-8"), "UTF-8 (BOM)"),
    "utf-8 without bom": (_text(",").encode("utf-8"), "UTF-8"),
    "utf-16 le": (codecs.BOM_UTF16_LE + _text(",").encode("utf-16-le"), "UTF-16 LE"),
    "utf-16 be": (codecs.BOM_UTF16_BE + _text(";").encode("utf-16-be"), "UTF-16 BE"),
}


def _upload(client, data: bytes, filename: str = "partners.csv"):
    return client.post(
        "/exchange/upload",
        data={"kind": "partners", "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def _last_import() -> ImportFile:
    db.session.expire_all()
    return db.session.execute(select(ImportFile).order_by(ImportFile.id.desc())).scalars().first()


def _words(page: str) -> str:
    """The page's text: tags taken out, entities read, white space runs made one space."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.mark.parametrize("case", FILES)
def test_a_file_in_any_usual_encoding_imports_with_its_russian_names(app, client, login_as, case):
    data, label = FILES[case]
    login_as("admin")

    answer = _upload(client, data)
    assert answer.status_code == 302
    imp = _last_import()
    page = _words(client.get(f"/exchange/{imp.id}").get_data(as_text=True))

    assert imp.status == "validated", page
    assert imp.report["encoding"] == label
    assert f"Encoding {label} (recognised automatically)" in page
    assert "Import 3 rows" in page

    client.post(f"/exchange/{imp.id}/confirm")

    assert _last_import().status == "done"
    db.session.expire_all()
    stored = db.session.execute(
        select(Partner.code, Partner.name, Partner.city).order_by(Partner.code)
    ).all()
    assert [tuple(r) for r in stored] == [tuple(r) for r in ROWS[1:]]


def test_the_encoding_is_shown_in_russian(app, client, login_as):
    login_as("admin", locale="ru")

    _upload(client, FILES["cp1251 semicolon"][0])
    page = _words(client.get(f"/exchange/{_last_import().id}").get_data(as_text=True))

    assert "Кодировка Windows-1251 (определена автоматически)" in page


def _garbage() -> bytes:
    """Bytes of no text encoding and without a NUL (a NUL alone gives the file away)."""
    return bytes(b or 1 for b in random.Random(0).randbytes(4096))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
            "This is not a text CSV file (it contains binary data).",
        ),
        (
            _garbage(),
            "The file's encoding cannot be recognised. "
            "Save it as 'CSV UTF-8' (or as XLSX) and try again.",
        ),
    ],
)
def test_a_binary_or_garbage_file_is_refused_and_changes_nothing(
    app, client, login_as, make_partner, data, message
):
    login_as("admin")
    make_partner(name="Stays")
    before = dump()
    uploads = Path(app.config["UPLOAD_FOLDER"])
    stored = set(uploads.iterdir()) if uploads.exists() else set()

    answer = _upload(client, data)

    assert answer.status_code == 422
    assert message in html.unescape(answer.get_data(as_text=True))
    assert count(ImportFile) == 0
    assert set(uploads.iterdir()) == stored
    assert dump() == before


def test_a_garbage_file_is_refused_in_russian(app, client, login_as):
    login_as("admin", locale="ru")

    answer = _upload(client, _garbage())

    assert answer.status_code == 422
    assert "Не удаётся определить кодировку файла." in answer.get_data(as_text=True)
