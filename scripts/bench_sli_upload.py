#!/usr/bin/env python
"""How long a big SLI CSV upload takes, and how long it keeps everyone else from writing, on a
scratch SQLite file (never ``db.sqlite3``; see ``scripts/benchmark.py`` for why a script).

It builds a launch from the template, then posts a CSV of ``--rows`` values (default 9,999) to the
launch page's upload form as its owner, while

- a *prober* (its own sqlite3 connection) tries ``BEGIN IMMEDIATE`` every few milliseconds without
  waiting: the longest stretch in which it was refused is how long the upload held the write lock;
- a *writer* (another thread, through the services, with the project's busy timeout) records one
  value of another launch half a second into the upload: it should wait and succeed, never fail.

Then it posts the same file again (nothing changed: nothing should be written) and times
``verify_ledger``. Run: ``.venv/bin/python scripts/bench_sli_upload.py [--rows 9999]``.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark import configure  # noqa: E402


class LockProber(threading.Thread):
    """Measures, from outside Django, the longest time the database refused another writer."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database, self.stop, self.longest, self.busy_since = database, threading.Event(), 0.0, None

    def run(self) -> None:
        connection = sqlite3.connect(self.database, timeout=0, isolation_level=None)
        while not self.stop.is_set():
            now = time.perf_counter()
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
            except sqlite3.OperationalError:
                self.busy_since = self.busy_since or now
            else:
                if self.busy_since is not None:
                    self.longest = max(self.longest, now - self.busy_since)
                self.busy_since = None
            time.sleep(0.005)
        connection.close()


def csv_text(rows: int) -> str:
    indicators = ["success_rate", "latency_p50", "latency_p95", "latency_p99", "error_rate", "cost_daily"]
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    lines = ["date,indicator,value"]
    for n in range(rows):
        day = yesterday - datetime.timedelta(days=n // len(indicators))
        indicator = indicators[n % len(indicators)]
        value = "99.5" if indicator.endswith("rate") else str(100 + n % 900)
        lines.append(f"{day.isoformat()},{indicator},{value}")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from ledger.verification import verify
    from operations.models import SliActual, SliSource
    from operations.services import Measurement, sli_record
    from tests.builders import ready_launch

    call_command("migrate", verbosity=0)
    launch = ready_launch(slug="big-upload")
    other = ready_launch(slug="other-launch")
    text = csv_text(args.rows)
    client = Client()
    client.force_login(launch.owner)
    url = reverse("web:sli-upload", args=[launch.slug])

    writer_result = {}

    def concurrent_writer() -> None:
        time.sleep(0.5)
        started = time.perf_counter()
        try:
            sli_record(
                actor=other.owner,
                launch=other,
                measurements=[
                    Measurement(
                        day=datetime.date.today() - datetime.timedelta(days=1),
                        indicator="success_rate",
                        value=Decimal("99.9"),
                    )
                ],
                source=SliSource.FORM,
            )
            writer_result["outcome"] = "succeeded"
        except Exception as error:  # the point is to report it, whatever it is
            writer_result["outcome"] = f"FAILED: {type(error).__name__}: {error}"
        writer_result["waited"] = time.perf_counter() - started
        connection.close()

    prober = LockProber(Path(connection.settings_dict["NAME"]))
    prober.start()
    writer = threading.Thread(target=concurrent_writer)
    writer.start()
    started = time.perf_counter()
    response = client.post(url, {"file": SimpleUploadedFile("sli.csv", text.encode())})
    upload_seconds = time.perf_counter() - started
    writer.join()
    time.sleep(0.05)
    prober.stop.set()
    prober.join()
    stored = SliActual.objects.filter(launch=launch).count()
    history = SliActual.history.filter(launch_id=launch.pk).count()

    started = time.perf_counter()
    again = client.post(url, {"file": SimpleUploadedFile("sli.csv", text.encode())})
    again_seconds = time.perf_counter() - started
    history_after = SliActual.history.filter(launch_id=launch.pk).count()

    started = time.perf_counter()
    verification = verify()
    verify_seconds = time.perf_counter() - started

    print(f"rows uploaded                      {args.rows:>9,}")
    print(f"upload answered                    {response.status_code:>9}   in {upload_seconds:7.2f} s")
    print(f"values stored / history rows       {stored:>9,} / {history:,}")
    print(f"longest write lock held (prober)   {prober.longest:9.2f} s")
    print(
        f"concurrent writer                  {writer_result.get('outcome')} after {writer_result.get('waited', 0):.2f} s"
    )
    print(f"same file again                    {again.status_code:>9}   in {again_seconds:7.2f} s")
    print(f"history rows written by it         {history_after - history:>9,}")
    print(
        f"verify_ledger                      {'intact' if verification.ok else verification.problem}"
        f" in {verify_seconds:.2f} s"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=9999, help="rows in the uploaded CSV (default 9,999)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="preflight-bench-sli-"))
    try:
        configure(folder / "bench.sqlite3")
        return run(args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
