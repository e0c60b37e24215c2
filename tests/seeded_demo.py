"""The seeded demo, built once per test run for the modules that need all of it
(tests/web/test_seed_demo.py, tests/browser/test_crawl.py): ``seed_demo`` costs 6–8 s of CPU, and
those modules run on either xdist worker (``--dist loadfile`` places files, not fixtures).

On SQLite (the test database in memory, one per worker) the first module of the run to ask seeds
the demo, committed, and keeps a copy of the whole database in a file every worker of the run can
read; the next one, on whichever worker, restores that copy instead of seeding (SQLite's backup
API, a few milliseconds). A lock keeps a second worker from seeding meanwhile: it waits and
restores. On PostgreSQL every module seeds.

What a module gets is committed: a module-scoped user empties the database when done
(``empty_the_database``), as a transactional test's flush does."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection

COPY = "seeded-demo.sqlite3"


def seed() -> str:
    """``seed_demo --force`` (pytest-django runs with DEBUG off, where it refuses unforced): what it
    printed."""
    out = StringIO()
    call_command("seed_demo", "--force", stdout=out)
    return out.getvalue()


def _run_folder(tmp_path_factory) -> Path:
    """A folder of this test run that all its xdist workers share (each worker's own base
    folder sits in it); the run's own base folder without xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def the_seeded_demo(tmp_path_factory) -> str:
    """Put the seeded demo in the (empty) test database, committed, and return what ``seed_demo``
    printed. Call it outside any transaction."""
    assert not connection.in_atomic_block, "the demo is committed: it cannot be restored inside a transaction"
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        return seed()
    folder = _run_folder(tmp_path_factory)
    copy, printed = folder / COPY, folder / f"{COPY}.out"
    with open(folder / f"{COPY}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        connection.ensure_connection()
        if copy.exists():
            with sqlite3.connect(copy) as source:
                source.backup(connection.connection)
            source.close()
            # The copy's content types and permissions are the seeding worker's, under other ids
            # than the ones this worker's caches hold (Django's content types, guardian's): they are
            # told as after a flush, by post_migrate (which finds every row it would make there).
            emit_post_migrate_signal(0, False, connection.alias)
            return printed.read_text(encoding="utf-8")
        out = seed()
        printed.write_text(out, encoding="utf-8")
        partial = folder / f"{COPY}.partial"
        with sqlite3.connect(partial) as target:
            connection.connection.backup(target)
        target.close()
        partial.rename(copy)
        return out


def empty_the_database() -> None:
    """Empty every table as pytest-django does after a transactional test (``flush``, which then
    recreates the content types and permissions, clearing their cache)."""
    call_command("flush", interactive=False, verbosity=0)
