"""A write that gives up waiting for SQLite's write lock (another writer held it past the busy
timeout) answers 503 "busy, try again" with a Retry-After header, in the person's language, and
saves nothing; other database errors still fail loudly."""

import datetime
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, ProgrammingError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from operations.models import SliActual
from tests.builders import ready_launch

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)
CSV = f"date,indicator,value\n{YESTERDAY},success_rate,99.9\n"


def post_csv(client, launch):
    return client.post(
        reverse("web:sli-upload", args=[launch.slug]), {"file": SimpleUploadedFile("sli.csv", CSV.encode())}
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's database-wide write lock")
def test_a_write_that_cannot_get_the_lock_answers_503_and_saves_nothing(client):
    launch = ready_launch()
    client.force_login(launch.owner)  # signing in writes the session: before the lock is taken
    holding, release = threading.Event(), threading.Event()

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS busy_probe (x integer)")

    def other_writer():
        try:
            with transaction.atomic(), connection.cursor() as cursor:  # holds the write lock until released
                cursor.execute("INSERT INTO busy_probe VALUES (1)")
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_writer)
    thread.start()
    try:
        assert holding.wait(10)
        response = post_csv(client, launch)
    finally:
        release.set()
        thread.join()
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert "Preflight is busy: try again" in response.content.decode()
    assert not SliActual.objects.exists()
    assert post_csv(client, launch).status_code == 302  # once the other writer is done, it works


@pytest.mark.django_db
def test_the_busy_page_speaks_korean(client, monkeypatch):
    launch = ready_launch()

    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr("web.operations.sli_record", locked)
    client.force_login(launch.owner)
    client.cookies["django_language"] = "ko"
    response = post_csv(client, launch)
    assert response.status_code == 503
    page = response.content.decode()
    assert "Preflight가 사용 중입니다" in page
    # The bundled Korean font, as every other page: a machine without Korean fonts shows boxes.
    assert "web/fonts/noto-sans-kr/noto-sans-kr.css" in page and '"Noto Sans KR Variable"' in page


@pytest.mark.django_db
def test_other_database_errors_are_not_dressed_up_as_busy(client, monkeypatch):
    """A missing table is a bug, not a database that cannot serve: SQLite says so with an
    OperationalError, PostgreSQL with a ProgrammingError (its OperationalErrors all answer 503)."""
    launch = ready_launch()
    error = OperationalError if connection.vendor == "sqlite" else ProgrammingError

    def broken(**kwargs):
        raise error("no such table: operations_sliactual")

    monkeypatch.setattr("web.operations.sli_record", broken)
    client.force_login(launch.owner)
    with pytest.raises(error, match="no such table"):
        post_csv(client, launch)
