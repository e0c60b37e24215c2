"""Housekeeping: what Preflight deletes once it has served its time, each after its own number of
days (0 keeps it for ever). Run daily by beat (``web.tasks.housekeeping``) or from cron
(``manage.py housekeeping``); safe to run twice, or on several machines at once.

Never anything the ledger or an audit trail refers to: the ledger names launches, facts, sign-offs
and people, none of which is touched here. What goes:

- sessions past their expiry (always: nobody can use them any more);
- django-axes' records of sign-in attempts, sign-ins and failures older than
  ``LOGIN_ATTEMPT_RETENTION_DAYS`` (far older than any lockout, ``AXES_COOLOFF_MINUTES``);
- outbox messages sent, or dropped, more than ``OUTBOX_RETENTION_DAYS`` ago
  (``notifications.outbox.outbox_purge``: in-app notices stay, so no reminder is sent twice);
- the PDF bytes of reports rendered more than ``REPORT_PDF_RETENTION_DAYS`` ago
  (``reports.services.reports_expire_pdfs``: the report's row, hash and seal stay, so a copy
  downloaded before still verifies, and its page offers to render it again);
- the stored answers of form submissions older than ``SUBMISSION_RETENTION_HOURS`` (hours, never
  0: a form sent again after that is a new submission; ``web.idempotency``)."""

from __future__ import annotations

import datetime
import logging
from importlib import import_module

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.utils import timezone

from notifications.outbox import outbox_purge
from reports.services import reports_expire_pdfs

from .idempotency import submissions_forget

logger = logging.getLogger(__name__)


def housekeeping(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Delete what has served its time (see the module); returns how many of each went."""
    now = now or timezone.now()
    counts = {"sessions": _clear_expired_sessions()}
    before = _cutoff(settings.LOGIN_ATTEMPT_RETENTION_DAYS, now)
    for what, model in _SIGN_IN_RECORDS.items():
        counts[what] = model.objects.filter(attempt_time__lt=before).delete()[0] if before else 0
    before = _cutoff(settings.OUTBOX_RETENTION_DAYS, now)
    counts["outbox messages"] = outbox_purge(before=before) if before else 0
    before = _cutoff(settings.REPORT_PDF_RETENTION_DAYS, now)
    counts["report PDFs"] = reports_expire_pdfs(finished_before=before) if before else 0
    counts["form submissions"] = submissions_forget(now=now)
    logger.info(
        "Housekeeping: %s", ", ".join(f"{count} {what}" for what, count in counts.items()), extra={"deleted": counts}
    )
    return counts


# django-axes' records, each dated by its ``attempt_time``.
_SIGN_IN_RECORDS = {
    "sign-in attempts": AccessAttempt,
    "sign-ins": AccessLog,
    "sign-in failures": AccessFailureLog,
}


def _cutoff(days: int, now: datetime.datetime) -> datetime.datetime | None:
    """What is older than this goes; None (nothing goes) when ``days`` is 0: kept for ever."""
    return now - datetime.timedelta(days=days) if days else None


def _clear_expired_sessions() -> int:
    """What ``manage.py clearsessions`` does, counted for database sessions (the default)."""
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":
        from django.contrib.sessions.models import Session

        return Session.objects.filter(expire_date__lt=timezone.now()).delete()[0]
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()  # cache, cookies: uncounted
    return 0
