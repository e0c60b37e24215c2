"""Asking for a report, rendering it (a Celery task, in-process by default) and checking a file
against the record. A report is rendered once per set of facts: asking again while they are
unchanged returns the stored one, unless its render stalled (a worker died), which asks again."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from approvals.choices import NotificationEvent
from approvals.ledger import head_hash
from approvals.models import LedgerEntry
from approvals.notifications import notify
from approvals.snapshot import canonical_json, launch_snapshot
from readiness.access import can_view, require_view, visible_launches
from readiness.checklist import with_checklist_facts
from readiness.models import Launch, LaunchEvaluation, RolloutStage

from .choices import ReportKind, ReportStatus
from .models import Report

log = logging.getLogger(__name__)

# The version of the reports' layout (templates, styles, fonts). Raise it when a change would make
# a stored report look different: asking again then renders afresh instead of returning a PDF in
# the old layout. Stored reports stay downloadable and verifiable.
REPORT_LAYOUT = 2


def facts_fingerprint(*, kind: str, launch: Launch | None, stage: RolloutStage | None, user) -> str:
    """SHA-256 of what a report of ``kind`` shows, language aside: for a launch or a stage
    checklist, the facts its sign-offs cover (the approvals' snapshot) and the newest ledger entry
    of the launch (any request, decision, waiver, agreement or stage change moves it); for the
    portfolio, every launch the user sees with its stored evaluation and newest ledger entry."""
    if kind == ReportKind.PORTFOLIO:
        newest_entry = LedgerEntry.objects.filter(launch=OuterRef("pk")).order_by("-sequence").values("entry_hash")
        launches = (
            visible_launches(user)
            .filter(archived=False)
            .annotate(ledger_tail=Subquery(newest_entry[:1]))
            .select_related("evaluation")
            .order_by("pk")
        )
        data = [
            [
                launch.pk,
                launch.name,
                launch.current_stage_id,
                *_evaluation(launch),
                launch.ledger_tail or "",
            ]
            for launch in launches
        ]
        return _sha256({"kind": kind, "user": user.pk, "launches": data})
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    covered = stage or facts.next_stage() or next(iter(facts.ordered_stages()[-1:]), None)
    tail = LedgerEntry.objects.filter(launch=facts).order_by("-sequence").values_list("entry_hash", flat=True).first()
    return _sha256(
        {
            "kind": kind,
            "launch": facts.pk,
            "stage": stage.pk if stage else None,
            "current stage": facts.current_stage_id,
            "facts": launch_snapshot(facts, covered) if covered else None,
            "ledger": tail or "",
        }
    )


def _evaluation(launch: Launch) -> tuple:
    try:
        evaluation = launch.evaluation
    except LaunchEvaluation.DoesNotExist:
        return (None, None, None, None)
    return (evaluation.verdict, evaluation.passed, evaluation.total, sorted(evaluation.blockers))


def _sha256(data) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


@transaction.atomic
def report_request(
    *,
    actor,
    kind: str,
    language: str,
    launch: Launch | None = None,
    stage: RolloutStage | None = None,
    dispatch: bool = True,
) -> Report:
    """The report of ``kind`` in ``language`` for ``actor``: the stored one when the facts it
    shows are unchanged (and its render has not stalled), else a new one, rendered after commit.
    Anyone who may view the launch may ask for its reports (others: 404); anyone signed in for
    the portfolio, which shows only what they may see. ``dispatch=False`` leaves the rendering to
    the caller (``report_render``, e.g. the ``readiness_report`` command, which waits for it)."""
    if kind not in ReportKind.values:
        raise ValidationError({"kind": _("Unknown kind of report '%(kind)s'.") % {"kind": kind}})
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Reports are written in English or Korean.")})
    if kind == ReportKind.PORTFOLIO:
        launch = stage = None
    else:
        if launch is None:
            raise ValidationError({"launch": _("Name the launch the report is about.")})
        require_view(actor, launch)
        if kind == ReportKind.CHECKLIST and (stage is None or stage.launch_id != launch.pk):
            raise ValidationError({"stage": _("Name a stage of this launch for its checklist.")})
        if kind == ReportKind.LAUNCH:
            stage = None
    fingerprint = facts_fingerprint(kind=kind, launch=launch, stage=stage, user=actor)
    stored = (
        Report.objects.select_for_update()
        .filter(
            kind=kind,
            launch=launch,
            stage=stage,
            language=language,
            requested_by=actor,
            facts_fingerprint=fingerprint,
            layout=REPORT_LAYOUT,
        )
        .exclude(status=ReportStatus.FAILED)
        .order_by("-requested_at")
        .first()
    )
    if stored is not None and not stored.is_stalled():
        return stored
    if stored is not None:  # stalled: render it again
        report = stored
        if dispatch:
            _redispatch(report)
            return report
    else:
        report = Report.objects.create(
            kind=kind,
            launch=launch,
            stage=stage,
            language=language,
            requested_by=actor,
            facts_fingerprint=fingerprint,
            layout=REPORT_LAYOUT,
        )
    if dispatch:
        _dispatch_after_commit(report)
    return report


def _redispatch(report: Report) -> None:
    """Send a stalled report to be rendered again. Its ``started_at`` is set to now, so it counts
    as stalled again only if this dispatch, too, is not finished within the timeout: a sweep or a
    second request meanwhile does not pile up tasks for one report."""
    report.started_at = timezone.now()
    report.save(update_fields=["started_at"])
    _dispatch_after_commit(report)


# A report whose render was started this many times without finishing (each attempt killed its
# worker, say) is marked failed by the sweep rather than retried for ever; asking again starts anew.
MAX_RENDER_ATTEMPTS = 3


@transaction.atomic
def reports_requeue_stalled(*, now=None) -> dict[str, int]:
    """Re-dispatch every stalled report (pending, and its render started, or was dispatched,
    longer ago than ``REPORT_RENDER_TIMEOUT_SECONDS``): what ``celery beat`` runs every minute, so a
    worker killed mid-render leaves the report retried, never pending for ever. One already tried
    ``MAX_RENDER_ATTEMPTS`` times is marked failed, with why."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.REPORT_RENDER_TIMEOUT_SECONDS)
    stalled = list(
        Report.objects.select_for_update(skip_locked=True)
        .filter(status=ReportStatus.PENDING)
        .filter(Q(started_at__lt=cutoff) | Q(started_at__isnull=True, requested_at__lt=cutoff))
        .defer("pdf")
        .order_by("requested_at")
    )
    counts = {"requeued": 0, "failed": 0}
    for report in stalled:
        if report.attempts >= MAX_RENDER_ATTEMPTS:
            Report.objects.filter(pk=report.pk).update(
                status=ReportStatus.FAILED,
                finished_at=now,
                error=_("The render did not finish after %(attempts)d attempts.") % {"attempts": report.attempts},
            )
            counts["failed"] += 1
        else:
            _redispatch(report)
            counts["requeued"] += 1
    if stalled:
        log.warning("Stalled reports: %(requeued)d sent to render again, %(failed)d given up", counts)
    return counts


def report_visible_to(user, report: Report) -> bool:
    """Whether ``user`` may read ``report`` (its status, its PDF, what a verified copy covers):
    a launch's reports, whoever may view the launch; a portfolio report, only the person who
    asked for it, since it shows what they may see."""
    if not (user.is_authenticated and user.is_active):
        return False
    if report.kind == ReportKind.PORTFOLIO:
        return report.requested_by_id == user.pk
    return report.launch is not None and can_view(user, report.launch)


def _dispatch_after_commit(report: Report) -> None:
    report_id = str(report.pk)
    transaction.on_commit(lambda: _send(report_id))


def _send(report_id: str) -> None:
    from .tasks import render_report

    try:
        render_report.delay(report_id)
    except OperationalError:  # the broker is down: the report stays pending, and the sweep
        # (``requeue_stalled_reports``) sends it once it counts as stalled
        log.exception("Could not send report %s to be rendered; the sweep will send it again", report_id)


def report_render(report_id: str) -> Report:
    """Render a pending report and store its PDF and hash; safe to run twice (a ready report is
    left alone). The start is committed first, so a render that dies midway is seen as stalled
    and retried rather than pending for ever. A failure is stored with its error."""
    from .documents import document_html
    from .rendering import html_to_pdf

    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        if report.status == ReportStatus.READY:
            return report
        report.status = ReportStatus.PENDING
        report.started_at = timezone.now()
        report.attempts += 1
        report.ledger_head = head_hash()
        report.save(update_fields=["status", "started_at", "attempts", "ledger_head"])
    if settings.REPORT_RENDER_TEST_PAUSE_SECONDS:  # only the worker-kill integration test sets it
        time.sleep(settings.REPORT_RENDER_TEST_PAUSE_SECONDS)
    try:
        pdf = html_to_pdf(document_html(report))
    except Exception as error:  # any failure is the report's to show, with what went wrong
        log.exception("Rendering report %s failed", report_id)
        Report.objects.filter(pk=report_id).update(
            status=ReportStatus.FAILED, error=f"{type(error).__name__}: {error}", finished_at=timezone.now()
        )
        return Report.objects.get(pk=report_id)
    with transaction.atomic():
        finished = Report.objects.filter(pk=report_id, status=ReportStatus.PENDING).update(
            status=ReportStatus.READY,
            pdf=pdf,
            sha256=hashlib.sha256(pdf).hexdigest(),
            finished_at=timezone.now(),
            error="",
        )
        report = Report.objects.select_related("launch", "requested_by").get(pk=report_id)
        if finished:  # only the render that made it ready tells whoever asked
            notify(
                event=NotificationEvent.REPORT_READY,
                key=f"report:{report.pk}",
                launch=report.launch,
                actor=None,
                recipients=[report.requested_by],
                payload={"launch": report.launch.name if report.launch else ""},
                link=reverse("web:report", args=[report.pk]),
            )
    return report


@dataclass(frozen=True)
class ReportCheck:
    """What a file is: a report Preflight issued (and which), and whether its facts still hold."""

    report: Report | None
    sha256: str
    facts_hold: bool | None = None


def report_verify(data: bytes) -> ReportCheck:
    """Whether ``data`` is exactly a PDF Preflight issued (by its SHA-256), and if so whether the
    facts it shows are still the facts today."""
    digest = hashlib.sha256(data).hexdigest()
    report = (
        Report.objects.select_related("launch", "stage", "requested_by")
        .filter(sha256=digest, status=ReportStatus.READY)
        .first()
    )
    if report is None:
        return ReportCheck(None, digest)
    if report.launch_id and report.launch is None:
        return ReportCheck(report, digest, False)
    now = facts_fingerprint(kind=report.kind, launch=report.launch, stage=report.stage, user=report.requested_by)
    return ReportCheck(report, digest, now == report.facts_fingerprint)
