"""Anchors: copies of the ledger's head kept outside the database, where the operator chooses.

A chain cannot notice entries cut off its end together with a rolled-back head; a copy of the head
kept elsewhere can. After every commit that appended to the ledger, the new head is written to each
sink of ``LEDGER_ANCHOR`` (docs/ledger-anchor.md):

- ``log``: one INFO line ``ledger anchor seq=N hash=H server=S`` on the logger
  ``preflight.ledger.anchor``, for the operator's log pipeline to keep. The line holds no quote or
  backslash, so it reads the same in a plain log and inside a JSON record's "message";
- ``file:/path/anchor-{server}.log``: a line ``N H`` appended to this server's own file;
- ``s3://bucket/prefix/``: an object ``prefix/<N, 12 digits>-<H>`` per head, on any S3-compatible
  store (the same head written by two servers is the same key, with the same content).

No server needs another's file: every head covers every entry before it, because the chain is
hash-linked, so a head recorded by any server is enough. Writing never makes a committed action
fail: a failure is logged at ERROR, remembered in ``AnchorStatus`` (the row a metrics page reads
for the anchor lag) and mended by ``anchor_ledger_head`` (a Celery beat task every minute, and a
command), which writes the newest head to every sink. ``read_anchors`` merges files, folders of
files, logs (plain or JSON lines, gzipped or not) and S3 prefixes for ``verify_ledger --anchors``."""

from __future__ import annotations

import datetime
import functools
import gzip
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import AnchorStatus, LedgerHead

logger = logging.getLogger("preflight.ledger.anchor")

LOG_LINE = re.compile(r"ledger anchor seq=(\d+) hash=([0-9a-f]{64})\b")
FILE_LINE = re.compile(r"(\d+) ([0-9a-f]{64})")
S3_KEY = re.compile(r"(\d+)-([0-9a-f]{64})")
# Object stores are asked with short deadlines and no retries: a write runs in the request that
# committed, and the periodic task retries every minute anyway.
S3_CONNECT_TIMEOUT_SECONDS = 2
S3_READ_TIMEOUT_SECONDS = 5


class AnchorSourceError(ValueError):
    """An anchor source that cannot be read, or holds something that is not an anchor."""


# --- the sinks ------------------------------------------------------------------------------------


class LogSink:
    spec = "log"

    def __init__(self) -> None:
        # The operator asked for the line: make sure it is emitted even when the root logger is at
        # WARNING (unless this logger's level was set on purpose).
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)

    def write(self, sequence: int, entry_hash: str) -> None:
        logger.info("ledger anchor seq=%d hash=%s server=%s", sequence, entry_hash, settings.SERVER_ID)


class FileSink:
    def __init__(self, spec: str, path: str) -> None:
        self.spec = spec
        self.path = Path(path.replace("{server}", settings.SERVER_ID))

    def write(self, sequence: int, entry_hash: str) -> None:
        # One short write with O_APPEND, flushed to disk: lines from several processes of one
        # server never interleave, and an anchor said written survives a crash.
        with self.path.open("a", encoding="utf-8") as file:
            file.write(f"{sequence} {entry_hash}\n")
            file.flush()
            os.fsync(file.fileno())


class S3Sink:
    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.bucket, self.prefix = split_s3(spec)

    def write(self, sequence: int, entry_hash: str) -> None:
        s3_client().put_object(
            Bucket=self.bucket,
            Key=f"{self.prefix}{sequence:012d}-{entry_hash}",
            Body=f"{sequence} {entry_hash}\n".encode(),
            ContentType="text/plain",
            Metadata={"server": settings.SERVER_ID},
        )


def split_s3(spec: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ("bucket", "some/prefix/")."""
    bucket, _, prefix = spec.removeprefix("s3://").partition("/")
    return bucket, (prefix if not prefix or prefix.endswith("/") else f"{prefix}/")


@functools.cache
def _s3_client(endpoint_url: str):
    # boto3 is imported here, not at the top: it takes a quarter of a second, and only servers
    # with an s3:// sink (or verifying one) need it.
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=S3_CONNECT_TIMEOUT_SECONDS,
        read_timeout=S3_READ_TIMEOUT_SECONDS,
        retries={"max_attempts": 1, "mode": "standard"},
    )
    return boto3.client("s3", endpoint_url=endpoint_url or None, config=config)


def s3_client():
    """One client per endpoint and process (clients are thread-safe and slow to make)."""
    return _s3_client(settings.LEDGER_ANCHOR_S3_ENDPOINT_URL)


def configured_sinks() -> list[LogSink | FileSink | S3Sink]:
    """The sinks of ``LEDGER_ANCHOR`` (checked when the settings load), and ``LEDGER_ANCHOR_FILE``."""
    sinks: list[LogSink | FileSink | S3Sink] = []
    for spec in settings.LEDGER_ANCHOR:
        if spec == "log":
            sinks.append(LogSink())
        elif spec.startswith("file:"):
            sinks.append(FileSink(spec, spec.removeprefix("file:")))
        else:
            sinks.append(S3Sink(spec))
    if settings.LEDGER_ANCHOR_FILE:
        sinks.append(FileSink(f"file:{settings.LEDGER_ANCHOR_FILE}", settings.LEDGER_ANCHOR_FILE))
    return sinks


# --- writing --------------------------------------------------------------------------------------


def write_head(sequence: int, entry_hash: str) -> list[str]:
    """Write this head to every sink; returns the sinks that failed (each logged at ERROR, none
    raised). Then records how far anchoring got (``AnchorStatus``)."""
    sinks = configured_sinks()
    if not sinks:
        return []
    failed = []
    for sink in sinks:
        try:
            sink.write(sequence, entry_hash)
        except Exception as error:  # no sink may turn a committed action into an error
            failed.append(f"{sink.spec}: {type(error).__name__}: {error}")
            logger.error(
                "ledger anchor FAILED seq=%d sink=%s server=%s: %s: %s (retried by anchor_ledger_head)",
                sequence,
                sink.spec,
                settings.SERVER_ID,
                type(error).__name__,
                error,
            )
    _record(sequence, entry_hash, failed)
    return failed


def _record(sequence: int, entry_hash: str, failed: list[str]) -> None:
    now = timezone.now()
    try:
        if failed:
            error = "; ".join(failed)[:2000]
            since = Coalesce("failing_since", Value(now, output_field=models.DateTimeField()))
            if not AnchorStatus.objects.filter(pk=1).update(failing_since=since, last_error=error):
                AnchorStatus.objects.get_or_create(pk=1, defaults={"failing_since": now, "last_error": error})
            return
        values = {
            "sequence": sequence,
            "entry_hash": entry_hash,
            "anchored_at": now,
            "failing_since": None,
            "last_error": "",
        }
        # Only ever forward: a server finishing late with an older head leaves a newer one in place.
        if not AnchorStatus.objects.filter(pk=1, sequence__lte=sequence).update(**values):
            AnchorStatus.objects.get_or_create(pk=1, defaults=values)
    except DatabaseError as error:
        # The anchors are written; only the bookkeeping is lost, and the next write redoes it.
        logger.warning("ledger anchor status not recorded for seq=%d: %s", sequence, error)


class _AnchorAfterCommit:
    """The newest head appended in one transaction (savepoint), written once it commits."""

    def __init__(self, sequence: int, entry_hash: str) -> None:
        self.sequence, self.entry_hash = sequence, entry_hash

    def __call__(self) -> None:
        try:
            write_head(self.sequence, self.entry_hash)
        except Exception:  # after the commit nothing may fail the request
            logger.exception("ledger anchor FAILED seq=%d: unexpected error", self.sequence)


def anchor_after_commit(sequence: int, entry_hash: str) -> None:
    """Write this head to the sinks once the transaction commits. Several appends in one
    transaction write only the last head (it covers the others). The callback is shared only
    within one savepoint: rolling a savepoint back drops the callbacks queued inside it, so one
    queued in an outer scope never carries the head of entries rolled back."""
    scope = set(connection.savepoint_ids)
    for sids, func, *_robust in connection.run_on_commit:
        if isinstance(func, _AnchorAfterCommit) and sids == scope:
            func.sequence, func.entry_hash = sequence, entry_hash
            return
    transaction.on_commit(_AnchorAfterCommit(sequence, entry_hash), robust=True)


# --- catching up ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorState:
    """What a metrics page reports: the head, the newest anchored head, and since when writes fail."""

    head_sequence: int
    anchored_sequence: int
    anchored_at: datetime.datetime | None
    failing_since: datetime.datetime | None
    last_error: str

    @property
    def lag(self) -> int:
        """Entries appended since the newest anchored head (0: all anchored)."""
        return max(self.head_sequence - self.anchored_sequence, 0)

    @property
    def behind(self) -> bool:
        return self.lag > 0 or self.failing_since is not None


def anchor_status() -> AnchorState:
    head = LedgerHead.objects.filter(pk=1).values_list("sequence", flat=True).first() or 0
    status = AnchorStatus.objects.filter(pk=1).first() or AnchorStatus()
    return AnchorState(head, status.sequence, status.anchored_at, status.failing_since, status.last_error)


@dataclass(frozen=True)
class CatchUp:
    sequence: int
    written: bool
    failed: list[str]


def anchor_head(*, only_if_behind: bool = True) -> CatchUp:
    """Write the current head to every sink (when anchoring is behind, unless told to anyway)."""
    head = LedgerHead.objects.filter(pk=1).first()
    if head is None or head.sequence == 0 or (only_if_behind and not anchor_status().behind):
        return CatchUp(head.sequence if head else 0, False, [])
    return CatchUp(head.sequence, True, write_head(head.sequence, head.entry_hash))


# --- reading --------------------------------------------------------------------------------------


def read_anchors(sources: Iterable[str]) -> list[tuple[int, str]]:
    """Every anchor the sources hold, deduplicated, by sequence. A source is a file of ``N H``
    lines, a log (plain or JSON lines, other lines ignored; ``.gz`` too), a folder of either
    (read recursively), or an ``s3://bucket/prefix/``. A source that holds no anchor at all is
    refused: it is not what was meant (a wrong path, the wrong log)."""
    anchors: set[tuple[int, str]] = set()
    for source in sources:
        found = _read_s3(source) if source.startswith("s3://") else _read_path(Path(source))
        if not found:
            raise AnchorSourceError(f"{source} holds no ledger anchor")
        anchors |= found
    return sorted(anchors)


def _read_path(path: Path) -> set[tuple[int, str]]:
    if path.is_dir():
        found: set[tuple[int, str]] = set()
        for file in sorted(path.rglob("*")):
            if file.is_file() and not file.name.startswith("."):
                found |= _read_file(file)
        return found
    return _read_file(path)


def _read_file(path: Path) -> set[tuple[int, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as file:
            lines = file.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise AnchorSourceError(f"cannot read {path}: {error}") from None
    found, malformed, is_log = set(), None, False
    for number, line in enumerate(lines, start=1):
        if match := LOG_LINE.search(line):
            is_log = True
        elif not (match := FILE_LINE.fullmatch(line.strip())):
            if line.strip() and malformed is None:
                malformed = f"{path}, line {number}: expected 'SEQUENCE HASH', got {line[:120]!r}"
            continue
        found.add((int(match[1]), match[2]))
    if malformed and not is_log:
        # A file of anchors with a line that is not one; in a log, other lines are other messages.
        raise AnchorSourceError(malformed)
    return found


def _read_s3(source: str) -> set[tuple[int, str]]:
    bucket, prefix = split_s3(source)
    found = set()
    try:
        for page in s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                name = item["Key"].removeprefix(prefix)
                if not (match := S3_KEY.fullmatch(name)):
                    raise AnchorSourceError(f"{source}: {item['Key']!r} is not an anchor (SEQUENCE-HASH)")
                found.add((int(match[1]), match[2]))
    except AnchorSourceError:
        raise
    except Exception as error:  # botocore's errors have no common base worth naming
        raise AnchorSourceError(f"cannot list {source}: {type(error).__name__}: {error}") from None
    return found
