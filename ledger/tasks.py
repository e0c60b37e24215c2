"""Celery tasks of the ledger: thin, safe to run twice."""

from celery import shared_task

from .anchors import anchor_head


@shared_task(acks_late=True)
def anchor_ledger_head() -> dict:
    """Beat, every minute: if anchoring is behind (a write after a commit failed, or never ran),
    write the current head to every sink; it covers every entry before it."""
    result = anchor_head(only_if_behind=True)
    return {"sequence": result.sequence, "written": result.written, "failed": result.failed}
