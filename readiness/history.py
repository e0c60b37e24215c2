"""Saving governance rows so that every change leaves a history row naming who made it and why."""

from contextlib import contextmanager
from contextvars import ContextVar
from types import SimpleNamespace

from django.db import models
from django.db.models.signals import post_delete
from django.dispatch import receiver
from simple_history.models import HistoricalRecords

from .recording import record_facts, sealed

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
    spec = sealed(type(instance))
    if spec is not None:  # a fact the gate reads: the ledger records its new values (readiness.recording)
        record_facts(actor=actor, launch=spec.launch_of(instance), rows=[instance])
    return instance


def delete_with_history(instance: models.Model, *, actor, reason: str) -> None:
    """Delete ``instance``, recording ``actor`` and ``reason``; the rows deleted with it (an area's
    RACI rows, a bar's evaluation runs) record ``actor`` too."""
    instance._history_user = actor
    instance._change_reason = _fit(reason)
    spec = sealed(type(instance))
    launch = spec.launch_of(instance) if spec is not None else None
    token = _removed.set([])
    try:
        with _acting(actor):
            instance.delete()
        removed = _removed.get()
    finally:
        _removed.reset(token)
    if removed:  # sealed facts deleted, with ``instance`` or by cascade: the ledger records their removal
        record_facts(actor=actor, launch=launch, removed=removed)


# The sealed facts deleted during ``delete_with_history`` (None outside it).
_removed: ContextVar[list | None] = ContextVar("removed_sealed_facts", default=None)


@receiver(post_delete, dispatch_uid="history_collects_removed_sealed_facts")
def _collect_removed(sender, instance, **kwargs) -> None:
    removed = _removed.get()
    if removed is not None and sealed(sender) is not None:
        removed.append((sender._meta.label, instance.pk))


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
