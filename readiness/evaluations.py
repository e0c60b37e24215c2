"""Stored readiness (``LaunchEvaluation``): recomputed for the launches a change touched, after
the change commits, and for every launch by a periodic task.

What other apps store of a launch's facts follows the same path: after the stored evaluations of
changed launches are refreshed, ``launches_refreshed`` is sent (in the task, so on a worker when
tasks run on workers), and ``approvals`` re-judges whether the stage each of them is in still
holds. So the portfolio's verdict, standing and sign-off columns never wait for the daily run."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from django.db import connection
from django.dispatch import Signal
from django.utils import timezone

from .checklist import evaluate_many
from .models import Launch, LaunchEvaluation, Verdict
from .postcommit import after_commit, enqueue

BATCH = 200
logger = logging.getLogger(__name__)

# Sent with ``launch_ids`` once the stored evaluations of launches a change touched are refreshed.
launches_refreshed = Signal()


def refresh_evaluations(launch_ids: Iterable[int] | None = None, *, now: datetime.datetime | None = None) -> int:
    """Evaluate these launches (all of them with None) for their next stage and store the result;
    returns how many were stored. Runs in batches, each in a bounded number of queries."""
    now = now or timezone.now()
    queryset = Launch.objects.order_by("pk")
    if launch_ids is not None:
        queryset = queryset.filter(pk__in=sorted(set(launch_ids)))
    stored = 0
    ids = list(queryset.values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        rows = []
        for readiness in evaluate_many(Launch.objects.filter(pk__in=ids[start : start + BATCH]), now=now):
            if readiness.stage is None and readiness.launch.current_stage_id is not None:
                verdict = Verdict.FINAL  # in its last stage; a launch with no stage at all is blocked
            else:
                verdict = Verdict.READY if readiness.may_enter else Verdict.BLOCKED
            rows.append(
                LaunchEvaluation(
                    launch_id=readiness.launch.pk,
                    next_stage=readiness.stage.name if readiness.stage else "",
                    verdict=verdict,
                    passed=readiness.passed,
                    total=len(readiness.results),
                    blockers=[result.key for result in readiness.blockers],
                    evaluated_at=now,
                )
            )
        LaunchEvaluation.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["launch"],
            update_fields=["next_stage", "verdict", "passed", "total", "blockers", "evaluated_at"],
        )
        stored += len(rows)
    return stored


_PENDING = "_preflight_launches_to_evaluate"


def evaluate_after_commit(launch_id: int) -> None:
    """Re-evaluate ``launch_id`` once the current transaction commits, once per launch however many
    rows the transaction changed. Outside a transaction the change is committed: evaluate now."""
    if not connection.in_atomic_block:
        _refresh([launch_id])
        return
    transaction_marker = connection.atomic_blocks[0]
    marker, pending = getattr(connection, _PENDING, (None, set()))
    if marker is not transaction_marker:  # a new transaction: what an earlier one left is moot
        pending = set()
        setattr(connection, _PENDING, (transaction_marker, pending))
    if launch_id in pending:
        return
    pending.add(launch_id)
    after_commit(lambda: _flush(pending))


def _flush(pending: set[int]) -> None:
    if pending:
        ids = sorted(pending)
        pending.clear()
        _refresh(ids)


def _refresh(ids: list[int]) -> None:
    """Hand the refresh to a worker (in eager mode: run it now). Never raises: the change is
    committed, so a broker that is down (or a failing refresh) must not turn a saved action into an
    error page; the periodic runs catch up."""
    from .tasks import refresh_launch_evaluations

    enqueue(
        refresh_launch_evaluations,
        ids,
        log=logger,
        failure="Could not refresh the stored readiness of launches %s; the periodic run will.",
    )
