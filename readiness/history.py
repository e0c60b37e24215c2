"""Saving governance rows so that every change leaves a history row naming who made it and why."""

from contextlib import contextmanager
from types import SimpleNamespace

from django.db import models
from simple_history.models import HistoricalRecords

# simple-history keeps the change reason in a 100-character column. A reason built from user text
# (a rollback's "why") can be longer; the whole text is kept in the row or the ledger, so the history
# reason is shortened rather than failing the save (PostgreSQL enforces the column's length).
CHANGE_REASON_MAX_LENGTH = 100


def _fit(reason: str) -> str:
    return reason if len(reason) <= CHANGE_REASON_MAX_LENGTH else reason[: CHANGE_REASON_MAX_LENGTH - 1] + "…"


def save_with_history(instance: models.Model, *, actor, reason: str) -> models.Model:
    """Validate and save ``instance``, recording ``actor`` and ``reason`` in its history row.

    Outside a request (Celery tasks, management commands) simple-history has no user to record,
    so services always pass the acting user explicitly."""
    instance.full_clean()
    instance._history_user = actor
    instance._change_reason = _fit(reason)
    instance.save()
    return instance


def delete_with_history(instance: models.Model, *, actor, reason: str) -> None:
    """Delete ``instance``, recording ``actor`` and ``reason``; the rows deleted with it (an area's
    RACI rows, a bar's evaluation runs) record ``actor`` too."""
    instance._history_user = actor
    instance._change_reason = _fit(reason)
    with _acting(actor):
        instance.delete()


@contextmanager
def _acting(actor):
    """Let simple-history name ``actor`` on every history row written meanwhile, as its middleware
    does for a request (cascaded deletes carry no ``_history_user`` of their own)."""
    context = HistoricalRecords.context
    missing = object()
    previous = getattr(context, "request", missing)
    context.request = SimpleNamespace(user=actor)
    try:
        yield
    finally:
        if previous is missing:
            del context.request
        else:
            context.request = previous
