"""``python -m config.migrate``: apply the migrations, one server at a time (what ``bin/start``
runs before serving).

Several app servers starting at once against one PostgreSQL database would otherwise run the
same migrations concurrently, and all but one fail half-way (a table already exists) or, worse,
interleave. Here each takes a PostgreSQL session-level advisory lock on a connection of its own
before migrating: the first applies what is missing, the others wait, then find nothing to do.
The lock is released when the connection closes, so a server killed mid-migration never leaves
it held. On SQLite (one machine, one web server) it simply migrates.
"""

from __future__ import annotations

import os
import sys
import time

# pg_advisory_lock takes a 64-bit key: any constant no other code of the database's uses.
# int.from_bytes(b"preflmig", "big") — "preflight migrate".
MIGRATION_LOCK_KEY = 8102650170173122919


def migrate(*, stdout=sys.stdout) -> None:
    from django.core.management import call_command
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        call_command("migrate", interactive=False, stdout=stdout)
        return
    lock = connections.create_connection("default")  # not the one migrate uses: it may close it
    try:
        with lock.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
            if not cursor.fetchone()[0]:
                print("Another server is migrating this database; waiting for it to finish.", file=stdout, flush=True)
                started = time.monotonic()
                cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
                print(f"Waited {time.monotonic() - started:.1f} s for the migration lock.", file=stdout, flush=True)
            call_command("migrate", interactive=False, stdout=stdout)
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])
    finally:
        lock.close()


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    migrate()


if __name__ == "__main__":
    main()
