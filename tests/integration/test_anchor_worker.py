"""The ledger anchor caught up by a real Celery worker: beat's ``anchor_ledger_head`` message, sent by
the name and options in the schedule to a worker consuming from Redis, writes the head that a
failed write after a commit left unanchored (docs/ledger-anchor.md). PostgreSQL and Redis, as the
other worker tests."""

import pytest
from celery import current_app
from django.db import connection

from ledger.anchors import anchor_status
from ledger.models import LedgerHead
from ledger.tasks import anchor_ledger_head
from tests.builders import ready_launch
from tests.integration.test_celery_worker import redis_worker  # noqa: F401 - the fixture
from tests.ledger.helpers import verify_ledger

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite's shared in-memory test database locks whole tables between threads; "
        "the worker tests run against PostgreSQL (CI's second pass)",
    ),
]


def test_beat_s_anchor_task_on_a_worker_writes_the_head_a_failed_write_left_behind(
    redis_worker,  # noqa: F811
    settings,
    tmp_path,
):
    (tmp_path / "anchors").write_text("a file where the folder should be: every write fails")
    settings.LEDGER_ANCHOR = [f"file:{tmp_path}/anchors/anchor-{{server}}.log"]
    settings.LEDGER_ANCHOR_FILE = ""
    settings.SERVER_ID = "worker-1"
    ready_launch(slug="anchored-by-the-worker")
    assert anchor_status().behind

    (tmp_path / "anchors").unlink()
    (tmp_path / "anchors").mkdir()
    entry = settings.CELERY_BEAT_SCHEDULE["anchor-ledger-head"]
    assert entry["task"] == anchor_ledger_head.name  # imported above, so the worker's app knows it
    result = current_app.send_task(entry["task"], **entry["options"]).get(timeout=60)
    head = LedgerHead.objects.get()
    assert result == {"sequence": head.sequence, "written": True, "failed": []}
    assert (tmp_path / "anchors/anchor-worker-1.log").read_text() == f"{head.sequence} {head.entry_hash}\n"
    assert anchor_status().lag == 0
    assert verify_ledger("--anchors", str(tmp_path / "anchors"))[0] == 0
