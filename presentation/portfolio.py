"""What an executive reads of the portfolio at a glance, on the page and in the report."""

from __future__ import annotations

import datetime

from django.db.models import Count, Min, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals.choices import RequestStatus
from approvals.models import SignoffRequest
from raci.choices import TeamFunction
from readiness.choices import StageKind
from readiness.models import LaunchEvaluation, Verdict

from .charts import Series, stacked_bars

# Sign-offs an approver objected to: still open (the owner may answer and ask again), never "pending".
OBJECTED = [RequestStatus.REJECTED, RequestStatus.CHANGES_REQUESTED]
STAGE_ORDER = [("planning", gettext_lazy("In planning")), *StageKind.choices]


def with_signoff_counts(launches: QuerySet, today: datetime.date) -> QuerySet:
    """The launches annotated with their open sign-off requests by state, as every page shows them:
    ``pending_signoffs`` (of which ``overdue_signoffs``), ``rejected_signoffs`` and
    ``changes_requested_signoffs``. A rejection or a change request is news, never "none pending"."""
    status = "signoff_requests__status"
    return launches.annotate(
        pending_signoffs=Count("signoff_requests", filter=Q(**{status: RequestStatus.PENDING})),
        overdue_signoffs=Count(
            "signoff_requests",
            filter=Q(**{status: RequestStatus.PENDING}, signoff_requests__due_date__lt=today),
        ),
        rejected_signoffs=Count("signoff_requests", filter=Q(**{status: RequestStatus.REJECTED})),
        changes_requested_signoffs=Count("signoff_requests", filter=Q(**{status: RequestStatus.CHANGES_REQUESTED})),
    )


def portfolio_summary(visible: QuerySet, today: datetime.date) -> dict:
    """What an executive reads at a glance, from the stored evaluations (three queries, however
    many launches): launches by stage and verdict, and sign-offs waiting or overdue by function."""
    by_stage = (
        visible.filter(archived=False)
        .annotate(stage_kind=Coalesce("current_stage__kind", Value("planning")))
        .values("stage_kind", "evaluation__verdict")
        .annotate(count=Count("pk"))
    )
    counts = {(row["stage_kind"], row["evaluation__verdict"]): row["count"] for row in by_stage}
    verdicts = [Verdict.READY, Verdict.BLOCKED, Verdict.FINAL, None]
    stage_rows = [
        (str(label), [counts.get((kind, verdict), 0) for verdict in verdicts])
        for kind, label in STAGE_ORDER
        if any(counts.get((kind, verdict)) for verdict in verdicts)
    ]
    pending = Q(status=RequestStatus.PENDING)
    waiting = (
        SignoffRequest.objects.filter(
            launch__in=visible.filter(archived=False), status__in=[RequestStatus.PENDING, *OBJECTED]
        )
        .values("function")
        .annotate(
            waiting=Count("pk", filter=pending),
            overdue=Count("pk", filter=pending & Q(due_date__lt=today)),
            objected=Count("pk", filter=Q(status__in=OBJECTED)),
        )
        .order_by("function")
    )
    signoff_rows = [
        (
            str(TeamFunction(row["function"]).label),
            [row["waiting"] - row["overdue"], row["overdue"], row["objected"]],
        )
        for row in waiting
    ]
    oldest = LaunchEvaluation.objects.filter(launch__in=visible).aggregate(oldest=Min("evaluated_at"))["oldest"]
    return {
        "stage_chart": stacked_bars(
            _("Launches by stage and verdict for the next stage"),
            stage_rows,
            [
                Series(_("Ready"), "bar-ready"),
                Series(_("Blocked"), "bar-blocked"),
                Series(_("Final stage"), "bar-final"),
                Series(_("Not yet evaluated"), "bar-none"),
            ],
        )
        if stage_rows
        else None,
        "signoff_chart": stacked_bars(
            _("Sign-offs waiting, by function"),
            signoff_rows,
            [
                Series(_("Waiting"), "bar-waiting"),
                Series(_("Overdue"), "bar-blocked"),
                Series(_("Rejected or changes requested"), "bar-objected"),
            ],
        )
        if signoff_rows
        else None,
        "evaluated_as_of": oldest,
    }
