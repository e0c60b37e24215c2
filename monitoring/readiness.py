"""What ``/readyz`` checks: may this server take traffic? Each check answers a ``Check`` whose
``detail`` is a fixed phrase or a number, never an exception's text: the body is public to
whatever reaches the probe, and errors can name hosts, users or URLs. The error itself is logged.

- database: every configured connection answers ``SELECT 1``;
- broker: a connection to ``CELERY_BROKER_URL`` opens (skipped in eager mode: no broker);
- migrations: no migration on disk is unapplied (``MigrationExecutor``'s plan is empty);
- outbox: messages due and still unsent stay under ``READYZ_MAX_OUTBOX_BACKLOG`` (0: not checked)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from notifications import outbox
from notifications.models import OutboxMessage

logger = logging.getLogger(__name__)

OK, FAILING, SKIPPED = "ok", "failing", "skipped"


@dataclass(frozen=True)
class Check:
    status: str
    detail: str | int = ""


def _failed(name: str, error: BaseException) -> Check:
    # One line per failing check (probes come every few seconds): the error, without its traceback.
    logger.warning("Readiness check %s failed: %s: %s", name, type(error).__name__, error)
    return Check(FAILING, f"error: {type(error).__name__}")


def check_database() -> Check:
    down = []
    for connection in connections.all(initialized_only=False):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as error:
            _failed(f"database {connection.alias}", error)
            down.append(connection.alias)
    if down:
        return Check(FAILING, f"unreachable: {', '.join(down)}")
    return Check(OK, "reachable")


def check_broker() -> Check:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return Check(SKIPPED, "not configured: tasks run in-process")
    try:
        with current_app.connection_for_write(
            url=settings.CELERY_BROKER_URL, connect_timeout=settings.READYZ_BROKER_TIMEOUT_SECONDS
        ) as connection:
            connection.ensure_connection(max_retries=0, timeout=settings.READYZ_BROKER_TIMEOUT_SECONDS)
            connection.default_channel  # noqa: B018  Redis answers a PING here, AMQP opens a channel
    except Exception as error:
        return _failed("broker", error)
    return Check(OK, "reachable")


def check_migrations() -> Check:
    try:
        executor = MigrationExecutor(connections["default"])
        unapplied = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except Exception as error:
        return _failed("migrations", error)
    if unapplied:
        return Check(FAILING, f"unapplied: {unapplied}")
    return Check(OK, "applied")


def outbox_backlog() -> int:
    """Messages due now and not sent (``notifications.outbox.due``)."""
    return OutboxMessage.objects.filter(outbox.due(timezone.now())).count()


def check_outbox() -> Check:
    limit = settings.READYZ_MAX_OUTBOX_BACKLOG
    if not limit:
        return Check(SKIPPED, "not checked (READYZ_MAX_OUTBOX_BACKLOG=0)")
    try:
        backlog = outbox_backlog()
    except Exception as error:
        return _failed("outbox", error)
    return Check(OK if backlog < limit else FAILING, backlog)


CHECKS: dict[str, Callable[[], Check]] = {
    "database": check_database,
    "broker": check_broker,
    "migrations": check_migrations,
    "outbox_backlog": check_outbox,
}


def readiness() -> tuple[bool, dict[str, Check]]:
    """Every check's outcome, and whether none failed (a skipped check does not fail)."""
    results = {name: check() for name, check in CHECKS.items()}
    return all(result.status != FAILING for result in results.values()), results
