"""Checklist items evaluated from readiness facts alone (see ``checklist`` for the registry)."""

import datetime

from .checklist import Context, Outcome, plural, register
from .evidence import judge
from .models import RollbackPlan, Runbook
from .validators import is_future


def _percent(value: float) -> str:
    return f"{value * 100:.2f}".rstrip("0").rstrip(".") + " %"


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
    return Outcome.from_problems(problems, f"{plural(len(assets), 'data asset')}, all classified with an access level.")


@register(
    "pii_policy",
    number=6,
    title="PII policy exists",
    prefetch=["data_assets"],
)
def pii_policy(ctx: Context) -> Outcome:
    personal = [asset for asset in ctx.launch.data_assets.all() if asset.is_personal]
    if not personal:
        return Outcome.not_applicable("No data asset is classified as personal data (PII).")
    problems = []
    for asset in personal:
        if not asset.masked_in_logs:
            problems.append(f"PII asset '{asset.name}' is not masked in logs.")
        if asset.retention_days is None:
            problems.append(f"PII asset '{asset.name}' has no retention period.")
        if asset.audit_interval_days is None:
            problems.append(f"PII asset '{asset.name}' has no audit checkpoint (audit interval).")
        elif asset.last_audit_at is not None and is_future(asset.last_audit_at, now=ctx.now):
            problems.append(
                f"PII asset '{asset.name}' has its last audit dated in the future ({asset.last_audit_at.isoformat()})."
            )
        elif (due := asset.audit_due_on()) is not None and due < ctx.today:
            problems.append(f"PII asset '{asset.name}' is overdue for its audit (due {due.isoformat()}).")
    return Outcome.from_problems(
        problems, f"{plural(len(personal), 'PII asset')}, all masked in logs, retained and audited."
    )


@register("monitoring_dashboard", number=8, title="Monitoring dashboard exists", prefetch=["slos"])
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


@register(
    "quality_evidence",
    number=12,
    title="Quality bars proven by evidence",
    prefetch=["quality_bars__eval_runs"],
)
def quality_evidence(ctx: Context) -> Outcome:
    bars = list(ctx.launch.quality_bars.all())
    if not bars:
        return Outcome.failed("No quality bar is recorded, so no evidence can show the failure rate is acceptable.")
    problems, proven = [], []
    for bar in bars:
        run = bar.latest_eval_run()
        limit = float(bar.max_failure_rate)
        confidence = float(bar.confidence_level)
        if run is None:
            problems.append(f"Quality bar '{bar.metric}' has no evaluation run.")
            continue
        if is_future(run.run_at, now=ctx.now):
            problems.append(
                f"Quality bar '{bar.metric}': the latest evaluation is dated in the future "
                f"({run.run_at.isoformat(sep=' ', timespec='minutes')}), so it proves nothing."
            )
            continue
        judgement = judge(bar, run)
        if not judgement.enough_samples:
            problems.append(
                f"Quality bar '{bar.metric}': the latest evaluation has {run.samples} samples, "
                f"fewer than the {bar.min_samples} required."
            )
            continue
        upper = judgement.upper_bound
        verdict = (
            f"Quality bar '{bar.metric}': {run.failures}/{run.samples} failures on {run.golden_set_name} "
            f"{run.golden_set_version}; the {_percent(confidence)} upper bound is {_percent(upper)} "
            f"against an agreed maximum of {_percent(limit)}"
        )
        if not judgement.proves_bar:
            problems.append(verdict + " — not yet proven.")
        else:
            proven.append(verdict + ".")
    if problems:
        return Outcome.failed(*problems)
    return Outcome.passed(*proven)
