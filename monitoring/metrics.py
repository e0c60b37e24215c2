"""Preflight's own series, ``preflight_…``, computed from the database at scrape time: every app
server reads the same rows, so every server tells the same truth, whichever one Prometheus asks,
however many worker processes each runs. A fixed handful of queries per scrape, however many
launches (``tests/monitoring/test_metrics_values.py`` pins the count): seven, eight with ``LEDGER_ANCHOR``.

Celery's queue lengths are asked of the broker at scrape time too (when there is one); the
counters of tasks sent and failed live in the process (``monitoring.celery_signals``)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from approvals.choices import RequestStatus
from approvals.models import SignoffRequest, StageStanding
from approvals.recertification import lapsed_filter
from ledger.models import AnchorStatus, LedgerHead
from notifications import outbox
from notifications.choices import OutboxStatus
from notifications.models import OutboxMessage
from raci.choices import TeamFunction
from readiness.choices import StageKind
from readiness.models import Launch
from reports.choices import ReportKind, ReportStatus
from reports.models import Report

from .models import LedgerVerification

logger = logging.getLogger(__name__)


def _seconds_since(moment: datetime.datetime | None, now: datetime.datetime) -> float:
    return max((now - moment).total_seconds(), 0.0) if moment else 0.0


def signoff_metrics(now: datetime.datetime) -> Iterator[Metric]:
    """Open sign-off requests waiting for a decision, and those past their due date (site time),
    by function; archived launches aside, as the reminders leave them alone."""
    today = timezone.localdate(now)
    pending = GaugeMetricFamily(
        "preflight_signoffs_pending", "Sign-off requests waiting for a decision, by function.", labels=["function"]
    )
    overdue = GaugeMetricFamily(
        "preflight_signoffs_overdue", "Sign-off requests waiting past their due date, by function.", labels=["function"]
    )
    rows = (
        SignoffRequest.objects.filter(status=RequestStatus.PENDING, launch__archived=False)
        .values("function")
        .annotate(pending=Count("pk"), overdue=Count("pk", filter=Q(due_date__lt=today)))
        .order_by("function")
    )
    counts = {row["function"]: row for row in rows}
    for function in TeamFunction.values:  # every function, zeros included: a series never vanishes
        row = counts.get(function, {"pending": 0, "overdue": 0})
        pending.add_metric([function], row["pending"])
        overdue.add_metric([function], row["overdue"])
    yield pending
    yield overdue


def outbox_metrics(now: datetime.datetime) -> Iterator[Metric]:
    due = outbox.due(now)
    figures = OutboxMessage.objects.aggregate(
        backlog=Count("pk", filter=due),
        oldest_due=Min("next_attempt_at", filter=due),
        retrying=Count("pk", filter=Q(status=OutboxStatus.PENDING, attempts__gt=0)),
        **{status.value: Count("pk", filter=Q(status=status)) for status in OutboxStatus},
    )
    by_status = GaugeMetricFamily(
        "preflight_outbox_messages",
        "Outbox messages by status (pending, sent, dropped, failed: given up after repeated errors).",
        labels=["status"],
    )
    for status in OutboxStatus:
        by_status.add_metric([status.value], figures[status.value])
    yield by_status
    yield GaugeMetricFamily(
        "preflight_outbox_backlog", "Outbox messages due now and not sent yet.", value=figures["backlog"]
    )
    yield GaugeMetricFamily(
        "preflight_outbox_oldest_due_age_seconds",
        "How long the oldest message due has been waiting to be sent (0: none due).",
        value=_seconds_since(figures["oldest_due"], now),
    )
    yield GaugeMetricFamily(
        "preflight_outbox_retrying",
        "Pending outbox messages whose last attempt failed (retried with back-off).",
        value=figures["retrying"],
    )


def report_metrics(now: datetime.datetime) -> Iterator[Metric]:
    cutoff = now - datetime.timedelta(seconds=settings.REPORT_RENDER_TIMEOUT_SECONDS)
    stalled = Q(status=ReportStatus.PENDING) & (
        Q(started_at__lt=cutoff) | Q(started_at__isnull=True, requested_at__lt=cutoff)
    )
    rows = Report.objects.values("kind", "status").annotate(count=Count("pk"), stalled=Count("pk", filter=stalled))
    counts = {(row["kind"], row["status"]): row for row in rows}
    renders = GaugeMetricFamily(
        "preflight_report_renders",
        "Stored PDF reports by kind and status (pending, ready, failed).",
        labels=["kind", "status"],
    )
    for kind in ReportKind:
        for status in ReportStatus:
            row = counts.get((kind.value, status.value))
            renders.add_metric([kind.value, status.value], row["count"] if row else 0)
    yield renders
    yield GaugeMetricFamily(
        "preflight_report_renders_stalled",
        "Reports still pending REPORT_RENDER_TIMEOUT_SECONDS after their render started (or was asked for).",
        value=sum(row["stalled"] for row in counts.values()),
    )


def ledger_metrics(now: datetime.datetime) -> Iterator[Metric]:
    last = LedgerVerification.objects.order_by("-finished_at", "-pk").first()
    head = LedgerHead.objects.filter(pk=1).values_list("sequence", flat=True).first()
    yield GaugeMetricFamily("preflight_ledger_head_sequence", "Number of the newest ledger entry.", value=head or 0)
    yield GaugeMetricFamily(
        "preflight_ledger_verification_timestamp_seconds",
        "When the ledger was last verified (Unix time; 0: never).",
        value=last.finished_at.timestamp() if last else 0,
    )
    if settings.LEDGER_ANCHOR:
        yield from anchor_metrics(head or 0)
    if last is None:
        return
    yield GaugeMetricFamily(
        "preflight_ledger_verification_age_seconds",
        "Seconds since the ledger was last verified.",
        value=_seconds_since(last.finished_at, now),
    )
    yield GaugeMetricFamily(
        "preflight_ledger_verification_ok",
        "1 if the last verification found the ledger intact, 0 if it found a problem.",
        value=1 if last.ok else 0,
    )
    yield GaugeMetricFamily(
        "preflight_ledger_verification_entries", "Entries the last verification checked.", value=last.checked
    )


def anchor_metrics(head: int) -> Iterator[Metric]:
    """How far the head has been copied outside the database (``ledger.anchors``), when the
    operator chose where (``LEDGER_ANCHOR``)."""
    status = AnchorStatus.objects.filter(pk=1).first() or AnchorStatus()
    yield GaugeMetricFamily(
        "preflight_ledger_anchor_lag",
        "Ledger entries appended since the newest head written to every anchor sink (0: all anchored).",
        value=max(head - status.sequence, 0),
    )
    yield GaugeMetricFamily(
        "preflight_ledger_anchor_failing",
        "1 while writing the head to a sink fails, else 0.",
        value=int(bool(status.failing_since)),
    )
    yield GaugeMetricFamily(
        "preflight_ledger_anchor_timestamp_seconds",
        "When a head was last written to every sink (Unix time; 0: never).",
        value=status.anchored_at.timestamp() if status.anchored_at else 0,
    )


def launch_metrics(now: datetime.datetime) -> Iterator[Metric]:
    in_stage = GaugeMetricFamily(
        "preflight_launches_in_stage", "Open launches in a rollout stage, by the stage's kind.", labels=["stage_kind"]
    )
    lapsed = GaugeMetricFamily(
        "preflight_launches_stage_lapsed",
        "Open launches whose stage the last recertification found no longer holding, by the stage's kind.",
        labels=["stage_kind"],
    )
    rows = (
        Launch.objects.filter(archived=False, current_stage__isnull=False)
        .values("current_stage__kind")
        .annotate(total=Count("pk"), lapsed=Count("pk", filter=lapsed_filter()))
        .order_by("current_stage__kind")
    )
    counts = {row["current_stage__kind"]: row for row in rows}
    for kind in StageKind.values:
        row = counts.get(kind, {"total": 0, "lapsed": 0})
        in_stage.add_metric([kind], row["total"])
        lapsed.add_metric([kind], row["lapsed"])
    yield in_stage
    yield lapsed
    last = StageStanding.objects.aggregate(last=Max("checked_at"))["last"]
    yield GaugeMetricFamily(
        "preflight_recertification_timestamp_seconds",
        "When recertification last judged a launch's stage (Unix time; 0: never).",
        value=last.timestamp() if last else 0,
    )


class PreflightCollector(Collector):
    """Registered on a registry of its own for one scrape (``monitoring.views.metrics``)."""

    def collect(self) -> Iterator[Metric]:
        """Every series, or none but ``preflight_database_up 0`` when the database fails: a scrape
        during an outage still answers, with the request and process figures that show it."""
        now = timezone.now()
        try:
            families = [
                *signoff_metrics(now),
                *outbox_metrics(now),
                *report_metrics(now),
                *ledger_metrics(now),
                *launch_metrics(now),
            ]
        except DatabaseError as error:
            logger.warning("The database did not answer the metrics scrape: %s", error)
            families = []
        yield GaugeMetricFamily(
            "preflight_database_up",
            "1 if the database answered this scrape's queries, else 0.",
            value=int(bool(families)),
        )
        yield from families
