"""Monitoring's only write: storing what a verification of the ledger found."""

from __future__ import annotations

import datetime
import logging

from django.utils import timezone

from ledger.verification import verify

from .models import LedgerVerification

logger = logging.getLogger(__name__)

# Older outcomes are deleted as each new one is stored: /metrics reads only the newest.
KEEP_FOR = datetime.timedelta(days=90)


def ledger_verification_record() -> LedgerVerification:
    """Verify the whole ledger (chain, head and every app's cross-checks, as ``verify_ledger``
    does without anchors) and store the outcome. A broken ledger is logged at ERROR as well."""
    started_at = timezone.now()
    result = verify()
    finished_at = timezone.now()
    record = LedgerVerification.objects.create(
        started_at=started_at,
        finished_at=finished_at,
        ok=result.ok,
        checked=result.checked,
        head_hash=result.head_hash,
        problem=result.problem,
    )
    LedgerVerification.objects.filter(finished_at__lt=finished_at - KEEP_FOR).delete()
    if not result.ok:
        logger.error("Ledger verification failed: %s", result.problem)
    return record
