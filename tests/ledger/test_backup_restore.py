"""Backups (docs/backup.md): a real ``pg_dump -Fc`` of a database holding real ledger entries,
restored with ``pg_restore`` into a fresh database and verified there by ``verify_ledger --anchors``
in a separate process, as an operator would after a restore. The anchors were written outside the
database while the entries were made; a restore of an OLDER dump, taken before the last anchors,
is reported (its tail is missing) — which is what the anchors are for — and so is a restore
verified without the ledger key it was written with.

PostgreSQL only (the PostgreSQL pass of .ci/run); there the client tools must be installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection

from ledger.models import LedgerHead
from tests.builders import approve_signoffs, ready_launch, request_for

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: DATABASE_URL points elsewhere"),
    pytest.mark.django_db(transaction=True),
]

PROJECT = Path(__file__).resolve().parents[2]


def server_url(name: str) -> str:
    db = connection.settings_dict
    login = quote(db["USER"] or "postgres") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{login}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is needed to test backups on PostgreSQL (Debian: postgresql-client).")
    return found


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)


def dump(path: Path) -> Path:
    run(tool("pg_dump"), "--format=custom", f"--file={path}", server_url(connection.settings_dict["NAME"]))
    return path


def verify_restored(database_url: str, anchors: Path, ledger_key: str) -> subprocess.CompletedProcess:
    env = os.environ | {
        "DATABASE_URL": database_url,
        "LEDGER_KEY": ledger_key,
        "DEBUG": "1",
        "LEDGER_ANCHOR": "",
        "LEDGER_ANCHOR_FILE": "",
    }
    env.pop("CELERY_BROKER_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", "verify_ledger", "--anchors", str(anchors)],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def restore():
    """``restore(dump)`` loads a dump into a fresh database of its own and returns its URL; every
    database made is dropped afterwards."""
    made = []

    def load(path: Path) -> str:
        name = f"preflight_restore_{uuid.uuid4().hex[:12]}"
        run(tool("psql"), "-X", "-q", "-d", server_url("postgres"), "-c", f'CREATE DATABASE "{name}"')
        made.append(name)
        run(tool("pg_restore"), "--exit-on-error", "--no-owner", f"--dbname={server_url(name)}", str(path))
        return server_url(name)

    yield load
    for name in made:
        subprocess.run(
            [
                tool("psql"),
                "-X",
                "-q",
                "-d",
                server_url("postgres"),
                "-c",
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            ],
            capture_output=True,
            timeout=120,
        )


def test_a_restored_dump_verifies_against_the_anchors_and_an_older_one_is_caught(settings, tmp_path, restore):
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    settings.SERVER_ID = "web-1"
    settings.LEDGER_ANCHOR = [f"file:{anchors}/anchor-{{server}}.log"]
    settings.LEDGER_ANCHOR_FILE = ""

    launch = ready_launch(slug="backed-up")
    request_for(launch, launch.owner, "legal")
    older = dump(tmp_path / "older.dump")
    older_head = LedgerHead.objects.get().sequence
    approve_signoffs(launch, "Internal")  # more entries, anchored after the older dump
    newer = dump(tmp_path / "newer.dump")
    newest = LedgerHead.objects.get()
    assert newest.sequence > older_head
    assert (anchors / "anchor-web-1.log").read_text().splitlines()[-1] == f"{newest.sequence} {newest.entry_hash}"

    restored = restore(newer)
    result = verify_restored(restored, anchors, django_settings.LEDGER_KEY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Ledger intact: {newest.sequence} entries, head {newest.entry_hash}." in result.stdout
    assert f"the newest #{newest.sequence}" in result.stdout

    # The key must be kept with the backups: without it, nothing verifies.
    wrong_key = verify_restored(restored, anchors, "another-ledger-key-of-at-least-32-characters")
    assert wrong_key.returncode == 1
    assert "entry #1 was altered" in wrong_key.stderr

    stale = verify_restored(restore(older), anchors, django_settings.LEDGER_KEY)
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "Ledger BROKEN: anchored entry #" in stale.stderr
    assert "it was cut off or rewritten" in stale.stderr
