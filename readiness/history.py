"""Saving governance rows so that every change leaves a history row naming who made it and why."""

from django.db import models


def save_with_history(instance: models.Model, *, actor, reason: str) -> models.Model:
    """Validate and save ``instance``, recording ``actor`` and ``reason`` in its history row.

    Outside a request (Celery tasks, management commands) simple-history has no user to record,
    so services always pass the acting user explicitly."""
    instance.full_clean()
    instance._history_user = actor
    instance._change_reason = reason
    instance.save()
    return instance


def delete_with_history(instance: models.Model, *, actor, reason: str) -> None:
    instance._history_user = actor
    instance._change_reason = reason
    instance.delete()
