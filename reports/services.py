"""Asking for a report, rendering it (a Celery task, in-process by default) and checking a file
against the record. A report is rendered once per set of facts: asking again while they are
unchanged returns the stored one, unless its render stalled (a worker died), which asks again."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals.recertification import stage_health
from approvals.snapshot import launch_snapshot
from ledger.chain import canonical_json, head_hash
from ledger.models import LedgerEntry
from notifications.services import notify
from operations.models import ActionItem
from readiness.access import can_view, require_view, visible_launches
from readiness.checklist import evaluate, with_checklist_facts
from readiness.i18n import english
from readiness.models import Launch, LaunchEvaluation, RolloutStage
from readiness.postcommit import after_commit, enqueue

from .choices import ReportEvent, ReportKind, ReportStatus
from .models import Report

log = logging.getLogger(__name__)

# The version of the reports' layout (templates, styles, fonts). Raise it when a change would make
# a stored report look different: asking again then renders afresh instead of returning a PDF in
# the old layout. Stored reports stay downloadable and verifiable.
REPORT_LAYOUT = 11


def facts_fingerprint(*, kind: str, launch: Launch | None, stage: RolloutStage | None, user) -> str:
    """SHA-256 of what a report of ``kind`` shows, language aside. For a launch or a stage
    checklist: the launch's own fields, the checklist as evaluated now (each item's outcome and
    reasons, the verdict and the gate's refusals: so an approval expiring, an audit falling due or
    a Responsible leaving all move it), the facts its sign-offs cover (the approvals' snapshot)
    and the newest ledger entry of the launch. For the portfolio: every launch the user sees with
    its stored evaluation (refreshed after every change and hourly) and newest ledger entry."""
    if kind == ReportKind.PORTFOLIO:
        newest_entry = LedgerEntry.objects.filter(launch=OuterRef("pk")).order_by("-sequence").values("entry_hash")
        launches = (
            visible_launches(user)
            .filter(archived=False)
            .annotate(ledger_tail=Subquery(newest_entry[:1]))
            .select_related("evaluation", "stage_standing")
            .order_by("pk")
        )
        data = [
            [
                launch.pk,
                launch.name,
                launch.current_stage_id,
                *_evaluation(launch),
                _standing(launch),
                launch.ledger_tail or "",
            ]
            for launch in launches
        ]
        return _sha256({"kind": kind, "user": user.pk, "launches": data})
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk).select_related("stage_standing")).get()
    covered = stage or facts.next_stage() or next(iter(facts.ordered_stages()[-1:]), None)
    tail = LedgerEntry.objects.filter(launch=facts).order_by("-sequence").values_list("entry_hash", flat=True).first()
    with english():  # reasons are words: the same facts must give the same fingerprint in any language
        readiness = evaluate(facts, stage, ignore_order=stage is not None)
        checklist = [[r.key, r.status, list(r.reasons)] for r in readiness.results]
        verdict = [readiness.may_enter, [str(reason) for reason in readiness.refusals]]
    return _sha256(
        {
            "kind": kind,
            "launch": facts.pk,
            "fields": [
                facts.name,
                facts.summary,
                facts.owner_id,
                facts.risk_tier,
                str(facts.target_date),
                facts.serving_version,
                facts.archived,
            ],
            "stage": stage.pk if stage else None,
            "current stage": facts.current_stage_id,
            "checklist": checklist,
            "verdict": verdict,
            "facts": launch_snapshot(facts, covered) if covered else None,
            "ledger": tail or "",
            # What the daily recertification found (its changes are ledgered; more reasons are not).
            "standing": _standing(facts),
            # Incidents, post-mortems and rollbacks are ledgered; completing an action item is not.
            "action items done": sorted(
                ActionItem.objects.filter(postmortem__incident__launch=facts, completed_at__isnull=False).values_list(
                    "pk", flat=True
                )
            ),
            "sli actuals": _sli_actuals_state(facts),
        }
    )


def _sli_actuals_state(launch: Launch) -> list:
    """What the report's SLO actuals section reads changes with every value recorded or replaced:
    how many there are, the newest recording and the newest day (the page's days move with the date)."""
    state = launch.sli_actuals.aggregate(count=Count("pk"), newest=Max("recorded_at"), last_day=Max("day"))
    return [state["count"], str(state["newest"]), str(state["last_day"]), str(timezone.localdate())]


def _evaluation(launch: Launch) -> tuple:
    try:
        evaluation = launch.evaluation
    except LaunchEvaluation.DoesNotExist:
        return (None, None, None, None)
    return (evaluation.verdict, evaluation.passed, evaluation.total, sorted(evaluation.blockers))


def _standing(launch: Launch) -> list:
    health = stage_health(launch)
    return [str(health.state), health.stage.pk if health.stage else None, [reason.key for reason in health.reasons]]


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
        .exclude(status__in=[ReportStatus.FAILED, ReportStatus.EXPIRED])  # asking again renders anew
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
    after_commit(lambda: _send(report_id))


def _send(report_id: str) -> None:
    from .tasks import render_report

    # The broker down: the report stays pending, and the sweep (``requeue_stalled_reports``)
    # sends it once it counts as stalled.
    enqueue(
        render_report,
        report_id,
        log=log,
        failure="Could not send report %s to be rendered; the sweep will send it again",
    )


def report_render(report_id: str) -> Report:
    """Render a pending report and store its PDF and hash; safe to run twice (a ready report is
    left alone). The start is committed first, so a render that dies midway is seen as stalled
    and retried rather than pending for ever. A failure is stored with its error."""
    from .documents import document_html
    from .rendering import html_to_pdf

    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        if report.status in (ReportStatus.READY, ReportStatus.EXPIRED):
            return report
        report.status = ReportStatus.PENDING
        report.started_at = timezone.now()
        report.attempts += 1
        report.save(update_fields=["status", "started_at", "attempts"])
    try:
        if settings.REPORT_RENDER_TEST_PAUSE_SECONDS:  # only the worker integration tests set it
            time.sleep(settings.REPORT_RENDER_TEST_PAUSE_SECONDS)
        # The fingerprint and the ledger head are taken with the data the PDF draws, not when the
        # report was asked for: facts changed in between are in the PDF, so in its fingerprint.
        with transaction.atomic():
            report.ledger_head = head_hash()
            report.facts_fingerprint = facts_fingerprint(
                kind=report.kind, launch=report.launch, stage=report.stage, user=report.requested_by
            )
            html = document_html(report)
        pdf = html_to_pdf(html)
    except Exception as error:  # the detail goes to the log; the row says only that it failed
        # (a render over its time limit too: Celery's SoftTimeLimitExceeded, settings.REPORT_RENDER_SOFT_TIME_LIMIT)
        log.exception("Rendering report %s failed", report_id)
        # Never downgrade a report another render has finished meanwhile.
        Report.objects.filter(pk=report_id, status=ReportStatus.PENDING).update(
            status=ReportStatus.FAILED, error=type(error).__name__, finished_at=timezone.now()
        )
        return Report.objects.get(pk=report_id)
    report.sha256 = hashlib.sha256(pdf).hexdigest()
    with transaction.atomic():
        # A report the stalled sweep gave up on while this render was still drawing is still ours to finish.
        finished = Report.objects.filter(pk=report_id, status__in=[ReportStatus.PENDING, ReportStatus.FAILED]).update(
            status=ReportStatus.READY,
            pdf=pdf,
            sha256=report.sha256,
            seal=report_seal(report),
            facts_fingerprint=report.facts_fingerprint,
            ledger_head=report.ledger_head,
            finished_at=timezone.now(),
            error="",
        )
        report = Report.objects.select_related("launch", "requested_by").get(pk=report_id)
        if finished:  # only the render that made it ready tells whoever asked
            notify(
                event=ReportEvent.READY,
                key=f"report:{report.pk}",
                launch=report.launch,
                actor=None,
                recipients=[report.requested_by],
                payload={"launch": report.launch.name if report.launch else ""},
                link=report.get_absolute_url(),
            )
    return report


def reports_expire_pdfs(*, finished_before) -> int:
    """Delete the PDF of every ready report finished before ``finished_before`` (housekeeping,
    ``REPORT_PDF_RETENTION_DAYS``); returns how many. Only the bytes go: the row stays, with what
    the report was, the hash of its bytes and its seal, so a copy downloaded before still verifies
    (``report_verify``), and its page says the PDF expired and offers to render it again. Nothing
    in the ledger names a report; the row is the record that it was issued."""
    expired = 0
    while True:  # in batches: each statement frees a few hundred PDFs, never the whole table at once
        with transaction.atomic():
            batch = list(
                Report.objects.select_for_update(skip_locked=True)
                .filter(status=ReportStatus.READY, finished_at__lt=finished_before)
                .values_list("pk", flat=True)[:_EXPIRE_BATCH]
            )
            if not batch:
                return expired
            expired += Report.objects.filter(pk__in=batch, status=ReportStatus.READY).update(
                status=ReportStatus.EXPIRED, pdf=None
            )


_EXPIRE_BATCH = 200


def report_seal(report: Report) -> str:
    """HMAC-SHA256, keyed like the ledger (``LEDGER_KEY``), over what an issued report is: which
    report, about what, for whom, in which layout, the facts and ledger head it shows and the hash
    of its bytes. Someone who can write to the database but does not hold the key cannot make a
    forged file, or an old report with today's fingerprint, verify."""
    record = {
        "id": str(report.pk),
        "kind": report.kind,
        "launch": report.launch_id,
        "stage": report.stage_id,
        "language": report.language,
        "requested by": report.requested_by_id,
        "layout": report.layout,
        "facts": report.facts_fingerprint,
        "ledger head": report.ledger_head,
        "sha256": report.sha256,
    }
    return hmac.new(settings.LEDGER_KEY.encode(), canonical_json(record).encode(), hashlib.sha256).hexdigest()


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
        .filter(sha256=digest, status__in=[ReportStatus.READY, ReportStatus.EXPIRED])
        .first()
    )
    if report is None:
        return ReportCheck(None, digest)
    if not hmac.compare_digest(report.seal, report_seal(report)):
        log.warning("Report %s does not match its seal: its row was changed outside Preflight", report.pk)
        return ReportCheck(None, digest)
    if report.launch_id and report.launch is None:
        return ReportCheck(report, digest, False)
    now = facts_fingerprint(kind=report.kind, launch=report.launch, stage=report.stage, user=report.requested_by)
    return ReportCheck(report, digest, now == report.facts_fingerprint)
