"""Every migration runs forward on a copy of a database made by a release, and the ledger stays
intact: the demo seeded by main at 637c45f (``fixtures/``), on SQLite always, and on PostgreSQL
when ``DATABASE_URL`` points at one (the PostgreSQL pass of ``.ci/run``). Each step is a
``manage.py`` process on the copy, as an operator would run it: ``migrate``, then ``verify_ledger``
with the release's last entry as an anchor (no migration may rewrite or cut off what was recorded
before it; see ``stored_head`` for why the release's head is read with plain SQL). How to refresh the dumps: the README's Tests section."""

import gzip
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
RELEASE = "main-637c45f"
# The key the dumps' ledger was written with; not a secret (the dumps hold only the demo).
LEDGER_KEY = "upgrade-test-ledger-key-not-a-secret-0123456789"
INTACT = re.compile(r"Ledger intact: (\d+) entries, head ([0-9a-f]{64})\.")


def manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LEDGER_KEY": LEDGER_KEY,
        "DEBUG": "1",  # no SECRET_KEY needed; the ledger checks are the same
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    for name in ("LEDGER_ANCHOR_FILE", "LEDGER_ANCHOR", "CELERY_BROKER_URL"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def sqlite_copy(tmp_path: Path) -> str:
    path = tmp_path / f"{RELEASE}.sqlite3"
    connection = sqlite3.connect(path)
    try:
        connection.executescript(gzip.decompress((FIXTURES / f"{RELEASE}.sqlite.sql.gz").read_bytes()).decode())
    finally:
        connection.close()
    return f"sqlite:///{path}"


@pytest.fixture
def postgresql_copy():
    """A fresh, uniquely named database on the test run's PostgreSQL server holding the dump;
    dropped afterwards."""
    server = urlsplit(os.environ["DATABASE_URL"])
    name = f"preflight_upgrade_{uuid.uuid4().hex[:12]}"
    admin = urlunsplit(server._replace(path="/postgres"))
    copy = urlunsplit(server._replace(path=f"/{name}"))
    psql = shutil.which("psql")
    if psql is None:
        pytest.fail("psql is needed to load the PostgreSQL dump (Debian: postgresql-client).")

    def run(url: str, *args: str, **kwargs) -> None:
        subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, *args], check=True, **kwargs)

    run(admin, "-c", f'CREATE DATABASE "{name}"')
    try:
        dump = gzip.decompress((FIXTURES / f"{RELEASE}.postgresql.sql.gz").read_bytes())
        run(copy, input=dump, capture_output=True)
        yield copy
    finally:
        run(admin, "-c", f'DROP DATABASE IF EXISTS "{name}"')


def intact(result: subprocess.CompletedProcess) -> tuple[int, str]:
    """The entry count and head of an intact ledger, or the test fails with what the command said."""
    found = INTACT.search(result.stdout)
    assert result.returncode == 0 and found, f"verify_ledger: {result.stdout}{result.stderr}"
    return int(found.group(1)), found.group(2)


def stored_head(database_url: str) -> tuple[int, str]:
    """The release's ledger head as stored, read with plain SQL: once a migration adds a column the
    verifier reads (``occurred_at``), today's ``verify_ledger`` cannot read the old schema, so the
    release's record is pinned by its head here and verified whole after the migrations (with that
    head as an anchor). The dumps were verified intact by the release's own ``verify_ledger`` when
    they were made (SQLite: 667 entries, head 1a7dffec…, checked again with 38a273c's code)."""
    query = (
        "SELECT h.sequence, h.entry_hash, (SELECT COUNT(*) FROM approvals_ledgerentry),"
        " (SELECT entry_hash FROM approvals_ledgerentry ORDER BY sequence DESC LIMIT 1)"
        " FROM approvals_ledgerhead h"
    )
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
            sequence, head, count, last = db.execute(query).fetchone()
    else:
        out = subprocess.run(
            [shutil.which("psql"), "-X", "-tA", "-F", " ", "-d", database_url, "-c", query],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        sequence, head, count, last = int(out[0]), out[1], int(out[2]), out[3]
    assert (sequence, head) == (count, last), "the dump's ledger head does not match its last entry"
    return sequence, head


def upgrade(database_url: str, tmp_path: Path) -> None:
    entries, head = stored_head(database_url)
    assert entries > 600  # the seeded demo: sign-offs, facts, incidents and all

    migrated = manage(database_url, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    pending = manage(database_url, "migrate", "--check")
    assert pending.returncode == 0, f"migrations left unapplied: {pending.stdout}{pending.stderr}"

    # Migrations may append to the ledger; what the release recorded must still be there, unchanged.
    anchors = tmp_path / "anchors"
    anchors.write_text(f"{entries} {head}\n")
    after, _ = intact(manage(database_url, "verify_ledger", "--anchors", str(anchors)))
    assert after >= entries


def test_migrations_upgrade_a_sqlite_database_made_by_the_release(tmp_path):
    upgrade(sqlite_copy(tmp_path), tmp_path)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: DATABASE_URL points elsewhere")
def test_migrations_upgrade_a_postgresql_database_made_by_the_release(postgresql_copy, tmp_path):
    upgrade(postgresql_copy, tmp_path)
