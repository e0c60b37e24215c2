"""Counters of the Celery tasks this process sends to the broker, and of those it tried to send.

Tasks are sent by the app servers (and beat), so these are the app side's figures: a send that
raised (the broker down) is counted as attempted and not as sent, so
``attempted - sent`` is what never reached the broker (the outbox and the stalled-report sweep
catch those up later). A task that fails fails in a worker: workers' own success and failure
counts come from a Celery events exporter (docs/monitoring.md), and Preflight's durable failures
(outbox messages given up, reports failed or stalled) are series of their own, read from the
database. (In-process mode propagates a task's error to the caller, and Celery sends no failure
signal then.)"""

from __future__ import annotations

from celery.signals import after_task_publish, before_task_publish
from prometheus_client import Counter

tasks_attempted = Counter(
    "preflight_celery_tasks_attempted", "Celery tasks this process tried to send to the broker.", ["task"]
)
tasks_sent = Counter("preflight_celery_tasks_sent", "Celery tasks this process sent to the broker.", ["task"])


def _name(sender, headers) -> str:
    return (headers or {}).get("task") or str(sender)


@before_task_publish.connect(dispatch_uid="monitoring.celery_signals.count_attempted")
def count_attempted(sender=None, headers=None, **kwargs) -> None:
    tasks_attempted.labels(_name(sender, headers)).inc()


@after_task_publish.connect(dispatch_uid="monitoring.celery_signals.count_sent")
def count_sent(sender=None, headers=None, **kwargs) -> None:
    tasks_sent.labels(_name(sender, headers)).inc()
