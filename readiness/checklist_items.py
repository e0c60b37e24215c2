"""Checklist items evaluated from readiness facts alone (see ``checklist`` for the registry)."""

import datetime

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from .checklist import Context, Outcome, plural, register
from .choices import AccessLevel, Classification
from .evidence import failures_tolerated, judge, samples_needed_without_failures
from .models import SLO, EvalRun, QualityBar, RollbackPlan, Runbook
from .validators import is_future


# Shared by every item reading quality bars or SLOs (here and in raci), so each is fetched once,
# with the user who agreed it joined in.
def quality_bars_with_agreements() -> Prefetch:
    return Prefetch("quality_bars", queryset=QualityBar.objects.select_related("agreed_by"))


def slos_with_agreements() -> Prefetch:
    return Prefetch("slos", queryset=SLO.objects.select_related("agreed_by"))


def percent(value: float) -> str:
    return f"{value * 100:.2f}".rstrip("0").rstrip(".") + " %"


# Who may reach an asset of each sensitive class: personal and confidential data are need-to-know
# (named teams) or restricted (named people, logged); never open to anyone, nor to every employee.
ALLOWED_ACCESS: dict[str, frozenset[str]] = {
    Classification.PERSONAL: frozenset({AccessLevel.NEED_TO_KNOW, AccessLevel.RESTRICTED}),
    Classification.CONFIDENTIAL: frozenset({AccessLevel.NEED_TO_KNOW, AccessLevel.RESTRICTED}),
}
# Classes whose assets need the data controls of item 6: masking in logs, retention, audits.
CONTROLLED_CLASSES = (Classification.PERSONAL, Classification.CONFIDENTIAL)
_CLASS_NOUN = {Classification.PERSONAL: "PII asset", Classification.CONFIDENTIAL: "confidential asset"}
_CLASS_DATA = {Classification.PERSONAL: "personal data (PII)", Classification.CONFIDENTIAL: "confidential data"}


def _access_problem(asset) -> str | None:
    allowed = ALLOWED_ACCESS.get(asset.classification)
    if not allowed or not asset.access_level or asset.access_level in allowed:
        return None
    choices = " or ".join(f"'{AccessLevel(level).label}'" for level in AccessLevel.values if level in allowed)
    return (
        f"Data asset '{asset.name}' holds {_CLASS_DATA[asset.classification]} but its access level is "
        f"'{asset.get_access_level_display()}'; it needs {choices}."
    )


@register(
    "data_classified",
    number=5,
    title="Data classified",
    prefetch=["data_assets"],
)
def data_classified(ctx: Context) -> Outcome:
    assets = list(ctx.launch.data_assets.all())
    if not assets:
        return Outcome.failed("No data assets are recorded: list every data source the AI system reads or writes.")
    problems = []
    for asset in assets:
        missing = [
            label
            for label, value in (("classification", asset.classification), ("access level", asset.access_level))
            if not value
        ]
        if missing:
            problems.append(f"Data asset '{asset.name}' has no {' and no '.join(missing)}.")
        elif problem := _access_problem(asset):
            problems.append(problem)
    return Outcome.from_problems(
        problems, f"{plural(len(assets), 'data asset')}, all classified, each with an access level its class allows."
    )


def _control_problems(asset, ctx: Context) -> list[str]:
    """What the controls of a personal or confidential asset lack."""
    label = f"{_CLASS_NOUN[asset.classification]} '{asset.name}'"
    label = label[0].upper() + label[1:]
    problems = []
    if not asset.masked_in_logs:
        problems.append(f"{label} is not masked in logs.")
    if asset.retention_days is None:
        problems.append(f"{label} has no retention period.")
    if asset.audit_interval_days is None:
        problems.append(f"{label} has no audit checkpoint (audit interval).")
    elif asset.last_audit_at is None:
        problems.append(f"{label} has an audit interval of {asset.audit_interval_days} days but was never audited.")
    elif is_future(asset.last_audit_at, now=ctx.now):
        problems.append(f"{label} has its last audit dated in the future ({asset.last_audit_at.isoformat()}).")
    elif (due := asset.audit_due_on()) is not None and due < ctx.today:
        problems.append(f"{label} is overdue for its audit (due {due.isoformat()}).")
    return problems


@register(
    "pii_policy",
    number=6,
    title="PII policy exists",
    prefetch=["data_assets"],
)
def pii_policy(ctx: Context) -> Outcome:
    """Personal and confidential assets alike: masked in logs, kept no longer than a retention
    period, and audited on an interval (first audit done, next one not overdue). Confidential data
    needs retention too: the AI system copies what it reads into prompts, logs, caches and indexes,
    and without a retention period those copies outlive the need."""
    controlled = [asset for asset in ctx.launch.data_assets.all() if asset.classification in CONTROLLED_CLASSES]
    if not controlled:
        return Outcome.not_applicable("No data asset is classified as personal data (PII) or confidential.")
    problems = [problem for asset in controlled for problem in _control_problems(asset, ctx)]
    counts = [
        plural(count, _CLASS_NOUN[classification])
        for classification in CONTROLLED_CLASSES
        if (count := sum(asset.classification == classification for asset in controlled))
    ]
    return Outcome.from_problems(problems, f"{' and '.join(counts)}, all masked in logs, retained and audited.")


@register("monitoring_dashboard", number=8, title="Monitoring dashboard exists", prefetch=[slos_with_agreements])
def monitoring_dashboard(ctx: Context) -> Outcome:
    slos = list(ctx.launch.slos.all())
    if not slos:
        return Outcome.failed("No SLIs are recorded, so there is nothing a dashboard shows yet.")
    missing = [slo.get_indicator_display() for slo in slos if not slo.dashboard_link]
    if missing:
        return Outcome.failed(*(f"SLI '{name}' has no dashboard link." for name in missing))
    return Outcome.passed(f"A dashboard link is recorded for {plural(len(slos), 'SLI')}.")


@register("rollback_plan", number=9, title="Rollback procedure exists", select=["rollback_plan"])
def rollback_plan(ctx: Context) -> Outcome:
    try:
        plan = ctx.launch.rollback_plan
    except RollbackPlan.DoesNotExist:
        return Outcome.failed("No rollback plan is recorded.")
    if not plan.procedure.strip():
        return Outcome.failed("The rollback plan has no procedure.")
    if plan.last_rehearsed_at is None:
        return Outcome.failed("The rollback procedure has never been rehearsed.")
    if is_future(plan.last_rehearsed_at, now=ctx.now):
        return Outcome.failed(f"The rollback rehearsal is dated in the future ({plan.last_rehearsed_at.isoformat()}).")
    age = max(0, (ctx.today - plan.last_rehearsed_at).days)  # a day ahead is a time zone, not a rehearsal to come
    if age > plan.max_rehearsal_age_days:
        return Outcome.failed(
            f"The rollback was last rehearsed {age} days ago ({plan.last_rehearsed_at.isoformat()}); "
            f"at most {plan.max_rehearsal_age_days} days are allowed."
        )
    return Outcome.passed(f"Rollback rehearsed {age} days ago ({'one-click' if plan.one_click else 'manual'}).")


@register("incident_runbook", number=10, title="Incident runbook exists", select=["runbook"])
def incident_runbook(ctx: Context) -> Outcome:
    try:
        runbook = ctx.launch.runbook
    except Runbook.DoesNotExist:
        return Outcome.failed("No incident runbook is recorded.")
    if not runbook.link and not runbook.content.strip():
        return Outcome.failed("The incident runbook has neither a link nor any text.")
    if runbook.last_reviewed_at is None:
        return Outcome.failed("The incident runbook has never been reviewed.")
    if is_future(runbook.last_reviewed_at, now=ctx.now):
        return Outcome.failed(
            f"The incident runbook's review is dated in the future ({runbook.last_reviewed_at.isoformat()})."
        )
    due = runbook.last_reviewed_at + datetime.timedelta(days=runbook.review_interval_days)
    if due < ctx.today:
        return Outcome.failed(
            f"The incident runbook was last reviewed on {runbook.last_reviewed_at.isoformat()}; "
            f"its review was due on {due.isoformat()}."
        )
    return Outcome.passed(f"Runbook reviewed on {runbook.last_reviewed_at.isoformat()}.")


@register("feedback_loop", number=11, title="Feedback loop exists", prefetch=["feedback_channels"])
def feedback_loop(ctx: Context) -> Outcome:
    channels = list(ctx.launch.feedback_channels.all())
    if not channels:
        return Outcome.failed(
            "No failure-case channel is recorded (e.g. negative user feedback, low-confidence capture)."
        )
    problems = [
        f"Feedback channel '{c.get_kind_display()}' has no review cadence." for c in channels if not c.review_cadence
    ]
    return Outcome.from_problems(
        problems, f"{plural(len(channels), 'failure-case channel')}, each with a review cadence."
    )


def _eval_runs_with_owners() -> Prefetch:
    return Prefetch("quality_bars__eval_runs", queryset=EvalRun.objects.select_related("golden_set_owner"))


def _version(value: str) -> str:
    return f"'{value}'" if value else "no recorded version"


def _run_age_days(run, ctx: Context) -> int:
    """Whole days since the run's date; a run dated later today, or ahead in another time zone, is 0."""
    return max(0, (ctx.today - timezone.localdate(run.run_at)).days)


def _days_ago(days: int) -> str:
    return "today" if days == 0 else f"{plural(days, 'day')} ago"


def counted_run(bar, launch, ctx: Context):
    """The run that counts as the bar's evidence: the latest *recorded* among those that measured
    the version in service and ran within ``EVIDENCE_MAX_AGE_DAYS``. A run dated in the future is
    not filtered out here: recorded last, it is the evidence, and it proves nothing."""
    serving = launch.serving_version
    if not serving:
        return None
    limit = settings.EVIDENCE_MAX_AGE_DAYS
    candidates = [
        run for run in bar.eval_runs.all() if run.measured_version == serving and _run_age_days(run, ctx) <= limit
    ]
    return max(candidates, key=lambda run: (run.recorded_at, run.pk)) if candidates else None


def _why_nothing_counts(bar, launch, ctx: Context) -> str:
    """Why the latest recorded run is not evidence for what is in service now."""
    prefix = f"Quality bar '{bar.metric}'"
    if not launch.serving_version:
        return (
            f"{prefix}: the launch records no serving version (the model/prompt version in service), "
            "so no evaluation can show it measured what users get."
        )
    run = bar.latest_eval_run()
    limit = settings.EVIDENCE_MAX_AGE_DAYS
    reasons = []
    if run.measured_version != launch.serving_version:
        reasons.append(
            f"measured {_version(run.measured_version)}, but {_version(launch.serving_version)} is in service"
        )
    if (age := _run_age_days(run, ctx)) > limit:
        reasons.append(
            f"ran {age} days ago ({timezone.localdate(run.run_at).isoformat()}), "
            f"older than the {limit} days evidence counts for"
        )
    return f"{prefix}: no evaluation counts; the latest recorded {' and '.join(reasons)}."


def _tolerance(bar, run) -> str:
    """How many failures the run's sample size allows while still proving the bar."""
    confidence, limit = float(bar.confidence_level), float(bar.max_failure_rate)
    tolerated = failures_tolerated(run.samples, confidence, limit)
    if tolerated is not None:
        return f"passes with up to {plural(tolerated, 'failure')} in {run.samples:,}"
    needed = samples_needed_without_failures(confidence, limit)
    if needed is None:
        return f"no evaluation proves a maximum of {percent(limit)}, whatever its size"
    return f"no failure count passes at {run.samples:,} samples; without failures it takes at least {needed:,} samples"


@register(
    "quality_evidence",
    number=12,
    title="Quality bars proven by evidence",
    prefetch=[quality_bars_with_agreements, _eval_runs_with_owners],
)
def quality_evidence(ctx: Context) -> Outcome:
    bars = list(ctx.launch.quality_bars.all())
    if not bars:
        return Outcome.failed("No quality bar is recorded, so no evidence can show the failure rate is acceptable.")
    problems, proven = [], []
    for bar in bars:
        if bar.latest_eval_run() is None:
            problems.append(f"Quality bar '{bar.metric}' has no evaluation run.")
            continue
        run = counted_run(bar, ctx.launch, ctx)
        if run is None:
            problems.append(_why_nothing_counts(bar, ctx.launch, ctx))
            continue
        verdict, proves = _judge_run(bar, run, ctx)
        (proven if proves else problems).extend(verdict)
    if problems:
        return Outcome.failed(*problems)
    return Outcome.passed(*proven)


def _judge_run(bar, run, ctx: Context) -> tuple[list[str], bool]:
    """Reasons about the counted run, and whether it proves the bar."""
    prefix = f"Quality bar '{bar.metric}'"
    if is_future(run.run_at, now=ctx.now):
        return [
            f"{prefix}: the latest evaluation is dated in the future "
            f"({run.run_at.isoformat(sep=' ', timespec='minutes')}), so it proves nothing."
        ], False
    if run.golden_set_owner_id is None:
        return [
            f"{prefix}: golden set {run.golden_set_name} {run.golden_set_version} has no owner, "
            "so its evaluation does not count."
        ], False
    judgement = judge(bar, run)
    shortfalls = []
    if not judgement.enough_samples:
        shortfalls.append(
            f"{prefix}: the latest evaluation has {run.samples} samples, fewer than the {bar.min_samples} required."
        )
    if not judgement.enough_human_review:
        shortfalls.append(
            f"{prefix}: a person reviewed {run.human_reviewed} of {run.samples} samples "
            f"({percent(run.human_reviewed / run.samples)}), less than the "
            f"{percent(float(bar.min_human_reviewed_share))} the bar requires."
        )
    if shortfalls:
        return shortfalls, False
    verdict = (
        f"{prefix}: {run.failures}/{run.samples} failures on {run.golden_set_name} {run.golden_set_version}, "
        f"measured on {_version(run.measured_version)} {_days_ago(_run_age_days(run, ctx))}; "
        f"the one-sided {percent(float(bar.confidence_level))} upper bound is {percent(judgement.upper_bound)} "
        f"against an agreed maximum of {percent(float(bar.max_failure_rate))}"
    )
    outcome = "" if judgement.within_maximum else " — not yet proven"
    return [f"{verdict}{outcome}; {_tolerance(bar, run)}."], judgement.within_maximum
