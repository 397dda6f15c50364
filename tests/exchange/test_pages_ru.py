"""The import pages for a Russian-speaking admin: Russian words, plural forms of the counts
(1 строка, 2 строки, 5 строк, 1 234 строки), numbers with a no-break space between thousands,
dates as 04.12.2026, and row errors made by the engine in Russian — also when the check runs
as a job, in the importing user's language rather than the server's."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from sqlalchemy import select

from crm.exchange.models import ImportFile
from crm.extensions import db

NBSP = "\u00a0"


def _csv(rows) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode()


def _partners(n: int) -> bytes:
    return _csv([["code", "name"]] + [[f"P-{i:05d}", f"Партнёр {i}"] for i in range(1, n + 1)])


def _upload(client, kind: str, data: bytes, filename: str = "partners.csv"):
    return client.post(
        "/exchange/upload",
        data={"kind": kind, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def _last_import() -> ImportFile:
    db.session.expire_all()
    return db.session.execute(select(ImportFile).order_by(ImportFile.id.desc())).scalars().first()


def _words(page: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


# rows → (the confirm button, the done message), written by hand in Russian.
COUNTS = {
    1: ("Загрузить 1 строку", "Загружена 1 строка."),
    2: ("Загрузить 2 строки", "Загружено 2 строки."),
    5: ("Загрузить 5 строк", "Загружено 5 строк."),
    1234: (f"Загрузить 1{NBSP}234 строки", f"Загружено 1{NBSP}234 строки."),
}


@pytest.mark.parametrize("rows", COUNTS)
def test_the_preview_and_the_report_count_rows_in_russian(app, client, login_as, rows):
    login_as("admin", locale="ru")
    button, done = COUNTS[rows]

    _upload(client, "partners", _partners(rows))
    imp = _last_import()
    page = _words(client.get(f"/exchange/{imp.id}").get_data(as_text=True))

    assert "Загрузка «Партнёры»: partners.csv" in page
    assert button in page
    assert "Строк" in page and "Новых" in page and "Кодировка UTF-8" in page

    client.post(f"/exchange/{imp.id}/confirm")
    page = _words(client.get(f"/exchange/{imp.id}").get_data(as_text=True))

    assert done in page
    new = f"1{NBSP}234" if rows == 1234 else str(rows)
    assert f"Новых: {new}, изменено: 0, без изменений: 0." in page


def test_row_errors_and_the_valid_rows_button_are_russian(app, client, login_as):
    login_as("admin", locale="ru")
    rows = [["code", "name", "kind"], ["P-1", "", "company"], ["P-2", "Б", "robot"]]
    rows.append(["К" * 65, "Длинный код", "company"])  # codes hold at most 64 characters
    rows += [[f"P-{i}", f"Имя {i}", "person"] for i in range(3, 8)]  # 5 valid rows

    _upload(client, "partners", _csv(rows))
    page = _words(client.get(f"/exchange/{_last_import().id}").get_data(as_text=True))

    assert "Строка 2, колонка name: не заполнено обязательное значение" in page
    assert "Строка 3, колонка kind: " in page  # the message is the partners domain's
    assert "Загрузить только 5 правильных строк" in page
    assert "Скачать отклонённые строки (CSV)" in page
    assert "Строка 4, колонка code: длиннее 64 символов" in page
    assert "Отклонено 3" in page


def test_header_problems_are_russian(app, client, login_as):
    login_as("admin", locale="ru")

    _upload(client, "partners", _csv([["code", "city", "note"], ["P-1", "Москва", "x"]]))
    page = _words(client.get(f"/exchange/{_last_import().id}").get_data(as_text=True))

    assert "Нет обязательной колонки: name. В первой строке должны быть названия колонок:" in page
    assert "Незнакомая колонка пропущена: note." in page


def test_the_index_page_is_russian_with_russian_dates(app, client, login_as):
    login_as("admin", locale="ru")
    _upload(client, "partners", _partners(2))
    client.post(f"/exchange/{_last_import().id}/confirm")

    page = _words(client.get("/exchange/").get_data(as_text=True))

    for words in ("Загрузка данных", "Импорт", "Экспорт", "Последние загрузки", "Загружен"):
        assert words in page
    assert "Загрузить и проверить" in page
    assert "Код партнёра в учётной системе: уникальный, до 64 символов." in page
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d Партнёры partners\.csv Загружен", page)


@pytest.mark.parametrize(
    ("locale", "message"), [("ru", "не заполнено обязательное значение"), ("en", "is required")]
)
def test_a_job_writes_the_report_in_the_importing_users_language(app, make_user, locale, message):
    """The check runs outside any request (a worker): its messages follow the user who
    uploaded the file, not the server's default language."""
    from crm.exchange.jobs import stored_path, validate_import
    from crm.jobs import enqueue

    user = make_user("admin", locale=locale)
    imp = ImportFile(user_id=user.id, kind="partners", filename="p.csv", stored_name="ru-job.csv")
    stored_path(imp).write_bytes(_csv([["code", "name", "extra"], ["P-1", "", "x"]]))
    db.session.add(imp)
    db.session.commit()

    enqueue(validate_import, imp.id, user=user, background=False)

    report = _last_import().report
    assert [(e["row"], e["column"], e["code"], e["message"]) for e in report["errors"]] == [
        (2, "name", "required", message)
    ]
    expected = {
        "ru": "Незнакомая колонка пропущена: extra.",
        "en": "Unknown column ignored: extra.",
    }
    assert report["warnings"] == [expected[locale]]
