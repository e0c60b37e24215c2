"""Counters of the Celery tasks this process sends to the broker and of those that fail in it.

Counted in the process where it happens: tasks are sent by the app servers (and beat), so
``preflight_celery_tasks_sent_total`` on ``/metrics`` is what the web servers sent; a task fails in
the worker that runs it, so ``preflight_celery_tasks_failed_total`` there counts only failures of
tasks run in-process (eager mode, no broker). Workers' own success and failure counts come from a
Celery events exporter (docs/monitoring.md); Preflight's durable failures (outbox messages given up,
reports failed or stalled) are series of their own, read from the database."""

from __future__ import annotations

from celery.signals import after_task_publish, task_failure
from prometheus_client import Counter

tasks_sent = Counter("preflight_celery_tasks_sent", "Celery tasks this process sent to the broker.", ["task"])
tasks_failed = Counter("preflight_celery_tasks_failed", "Celery tasks that failed in this process.", ["task"])


@after_task_publish.connect(dispatch_uid="monitoring.celery_signals.count_sent")
def count_sent(sender=None, headers=None, **kwargs) -> None:
    tasks_sent.labels((headers or {}).get("task") or str(sender)).inc()


@task_failure.connect(dispatch_uid="monitoring.celery_signals.count_failed")
def count_failed(sender=None, **kwargs) -> None:
    tasks_failed.labels(getattr(sender, "name", None) or str(sender)).inc()
