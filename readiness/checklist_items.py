"""Checklist items evaluated from readiness facts alone (see ``checklist`` for the registry)."""

import datetime

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .checklist import Context, Outcome, register
from .choices import AccessLevel, Classification
from .evidence import failures_tolerated, judge, samples_needed_without_failures
from .i18n import join_and, join_or, shown_date, shown_moment
from .models import SLO, EvalRun, QualityBar, RollbackPlan, Runbook
from .people import person_name
from .validators import is_future


# Shared by every item reading quality bars or SLOs (here and in raci), so each is fetched once,
# with the user who agreed it joined in.
def quality_bars_with_agreements() -> Prefetch:
    return Prefetch("quality_bars", queryset=QualityBar.objects.select_related("agreed_by"))


def slos_with_agreements() -> Prefetch:
    return Prefetch("slos", queryset=SLO.objects.select_related("agreed_by"))


def percent(value: float) -> str:
    """A fraction in percent: 0.05 is "5 %", a computed 0.040172 "4.02 %"; a rate typed with three
    decimals (0.00125, "0.125 %") keeps them, as a bar's maximum must not read rounded."""
    shown = value * 100
    places = 3 if abs(round(shown, 3) - shown) < 1e-9 else 2
    return f"{shown:.{places}f}".rstrip("0").rstrip(".") + " %"


# Who may reach an asset of each sensitive class: personal and confidential data are need-to-know
# (named teams) or restricted (named people, logged); never open to anyone, nor to every employee.
ALLOWED_ACCESS: dict[str, frozenset[str]] = {
    Classification.PERSONAL: frozenset({AccessLevel.NEED_TO_KNOW, AccessLevel.RESTRICTED}),
    Classification.CONFIDENTIAL: frozenset({AccessLevel.NEED_TO_KNOW, AccessLevel.RESTRICTED}),
}
# Classes whose assets need the data controls of item 6: masking in logs, retention, audits.
CONTROLLED_CLASSES = (Classification.PERSONAL, Classification.CONFIDENTIAL)
_CLASS_DATA = {
    Classification.PERSONAL: gettext_lazy("personal data (PII)"),
    Classification.CONFIDENTIAL: gettext_lazy("confidential data"),
}


def _class_count(classification: str, count: int) -> str:
    if classification == Classification.PERSONAL:
        return ngettext("%(count)s PII asset", "%(count)s PII assets", count) % {"count": count}
    return ngettext("%(count)s confidential asset", "%(count)s confidential assets", count) % {"count": count}


def _asset_label(asset) -> str:
    """ "PII asset 'x'" / "Confidential asset 'x'", to start a sentence."""
    if asset.classification == Classification.PERSONAL:
        return _("PII asset '%(name)s'") % {"name": asset.name}
    return _("Confidential asset '%(name)s'") % {"name": asset.name}


def _access_problem(asset) -> str | None:
    allowed = ALLOWED_ACCESS.get(asset.classification)
    if not allowed or not asset.access_level or asset.access_level in allowed:
        return None
    choices = join_or(f"'{AccessLevel(level).label}'" for level in AccessLevel.values if level in allowed)
    return _("Data asset '%(name)s' holds %(data)s but its access level is '%(access)s'; it needs %(choices)s.") % {
        "name": asset.name,
        "data": _CLASS_DATA[asset.classification],
        "access": asset.get_access_level_display(),
        "choices": choices,
    }


@register(
    "data_classified",
    number=5,
    title=gettext_lazy("Data classification"),
    prefetch=["data_assets"],
)
def data_classified(ctx: Context) -> Outcome:
    assets = list(ctx.launch.data_assets.all())
    if not assets:
        return Outcome.failed(_("No data assets are recorded: list every data source the AI system reads or writes."))
    problems = []
    for asset in assets:
        if not asset.classification and not asset.access_level:
            problems.append(
                _("Data asset '%(name)s' has no classification and no access level.") % {"name": asset.name}
            )
        elif not asset.classification:
            problems.append(_("Data asset '%(name)s' has no classification.") % {"name": asset.name})
        elif not asset.access_level:
            problems.append(_("Data asset '%(name)s' has no access level.") % {"name": asset.name})
        elif problem := _access_problem(asset):
            problems.append(problem)
        elif asset.access_level == AccessLevel.NEED_TO_KNOW and not asset.named_teams.strip():
            problems.append(
                _("Data asset '%(name)s' is need to know but names no teams that need to know.") % {"name": asset.name}
            )
    success = ngettext(
        "%(count)s data asset, all classified, each with an access level its class allows.",
        "%(count)s data assets, all classified, each with an access level its class allows.",
        len(assets),
    ) % {"count": len(assets)}
    return Outcome.from_problems(problems, success)


def _control_problems(asset, ctx: Context) -> list[str]:
    """What the controls of a personal or confidential asset lack."""
    label = {"asset": _asset_label(asset)}
    problems = []
    if not asset.masked_in_logs:
        problems.append(_("%(asset)s is not masked in logs.") % label)
    if asset.retention_days is None:
        problems.append(_("%(asset)s has no retention period.") % label)
    if asset.audit_interval_days is None:
        problems.append(_("%(asset)s has no audit checkpoint (audit interval).") % label)
    elif asset.last_audit_at is None:
        problems.append(
            _("%(asset)s has an audit interval of %(days)s days but was never audited.")
            % {**label, "days": asset.audit_interval_days}
        )
    elif is_future(asset.last_audit_at, now=ctx.now):
        problems.append(
            _("%(asset)s has its last audit dated in the future (%(date)s).")
            % {**label, "date": shown_date(asset.last_audit_at)}
        )
    elif (due := asset.audit_due_on()) is not None and due < ctx.today:
        problems.append(_("%(asset)s is overdue for its audit (due %(date)s).") % {**label, "date": shown_date(due)})
    return problems


@register(
    "pii_policy",
    number=6,
    title=gettext_lazy("PII policy"),
    prefetch=["data_assets"],
)
def pii_policy(ctx: Context) -> Outcome:
    """Personal and confidential assets alike: masked in logs, kept no longer than a retention
    period, and audited on an interval (first audit done, next one not overdue). Confidential data
    needs retention too: the AI system copies what it reads into prompts, logs, caches and indexes,
    and without a retention period those copies outlive the need."""
    controlled = [asset for asset in ctx.launch.data_assets.all() if asset.classification in CONTROLLED_CLASSES]
    if not controlled:
        return Outcome.not_applicable(_("No data asset is classified as personal data (PII) or confidential."))
    problems = [problem for asset in controlled for problem in _control_problems(asset, ctx)]
    counts = [
        _class_count(classification, count)
        for classification in CONTROLLED_CLASSES
        if (count := sum(asset.classification == classification for asset in controlled))
    ]
    return Outcome.from_problems(
        problems, _("%(assets)s, all masked in logs, retained and audited.") % {"assets": join_and(counts)}
    )


@register(
    "monitoring_dashboard",
    number=8,
    title=gettext_lazy("Monitoring dashboard"),
    prefetch=[slos_with_agreements],
)
def monitoring_dashboard(ctx: Context) -> Outcome:
    slos = list(ctx.launch.slos.all())
    if not slos:
        return Outcome.failed(_("No SLIs are recorded, so there is nothing a dashboard shows yet."))
    missing = [slo.get_indicator_display() for slo in slos if not slo.dashboard_link]
    if missing:
        return Outcome.failed(*(_("SLI '%(name)s' has no dashboard link.") % {"name": name} for name in missing))
    return Outcome.passed(
        ngettext(
            "A dashboard link is recorded for %(count)s SLI.",
            "A dashboard link is recorded for %(count)s SLIs.",
            len(slos),
        )
        % {"count": len(slos)}
    )


@register("rollback_plan", number=9, title=gettext_lazy("Rollback procedure"), select=["rollback_plan"])
def rollback_plan(ctx: Context) -> Outcome:
    try:
        plan = ctx.launch.rollback_plan
    except RollbackPlan.DoesNotExist:
        return Outcome.failed(_("No rollback plan is recorded."))
    if not plan.procedure.strip():
        return Outcome.failed(_("The rollback plan has no procedure."))
    if plan.last_rehearsed_at is None:
        return Outcome.failed(_("The rollback procedure has never been rehearsed."))
    if is_future(plan.last_rehearsed_at, now=ctx.now):
        return Outcome.failed(
            _("The rollback rehearsal is dated in the future (%(date)s).")
            % {"date": shown_date(plan.last_rehearsed_at)}
        )
    age = max(0, (ctx.today - plan.last_rehearsed_at).days)  # a day ahead is a time zone, not a rehearsal to come
    if age > plan.max_rehearsal_age_days:
        return Outcome.failed(
            _("The rollback was last rehearsed %(age)s days ago (%(date)s); at most %(limit)s days are allowed.")
            % {"age": age, "date": shown_date(plan.last_rehearsed_at), "limit": plan.max_rehearsal_age_days}
        )
    if plan.one_click:
        return Outcome.passed(_("Rollback rehearsed %(age)s days ago (one-click).") % {"age": age})
    return Outcome.passed(_("Rollback rehearsed %(age)s days ago (manual).") % {"age": age})


@register("incident_runbook", number=10, title=gettext_lazy("Incident runbook"), select=["runbook"])
def incident_runbook(ctx: Context) -> Outcome:
    try:
        runbook = ctx.launch.runbook
    except Runbook.DoesNotExist:
        return Outcome.failed(_("No incident runbook is recorded."))
    if not runbook.link and not runbook.content.strip():
        return Outcome.failed(_("The incident runbook has neither a link nor any text."))
    if runbook.last_reviewed_at is None:
        return Outcome.failed(_("The incident runbook has never been reviewed."))
    if is_future(runbook.last_reviewed_at, now=ctx.now):
        return Outcome.failed(
            _("The incident runbook's review is dated in the future (%(date)s).")
            % {"date": shown_date(runbook.last_reviewed_at)}
        )
    due = runbook.last_reviewed_at + datetime.timedelta(days=runbook.review_interval_days)
    if due < ctx.today:
        return Outcome.failed(
            _("The incident runbook was last reviewed on %(date)s; its review was due on %(due)s.")
            % {"date": shown_date(runbook.last_reviewed_at), "due": shown_date(due)}
        )
    return Outcome.passed(_("Runbook reviewed on %(date)s.") % {"date": shown_date(runbook.last_reviewed_at)})


@register("feedback_loop", number=11, title=gettext_lazy("Feedback loop"), prefetch=["feedback_channels"])
def feedback_loop(ctx: Context) -> Outcome:
    channels = list(ctx.launch.feedback_channels.all())
    if not channels:
        return Outcome.failed(
            _("No failure-case channel is recorded (e.g. negative user feedback, low-confidence capture).")
        )
    problems = [
        _("Feedback channel '%(kind)s' has no review cadence.") % {"kind": c.get_kind_display()}
        for c in channels
        if not c.review_cadence
    ]
    success = ngettext(
        "%(count)s failure-case channel, each with a review cadence.",
        "%(count)s failure-case channels, each with a review cadence.",
        len(channels),
    ) % {"count": len(channels)}
    return Outcome.from_problems(problems, success)


def _eval_runs_with_owners() -> Prefetch:
    return Prefetch(
        "quality_bars__eval_runs",
        queryset=EvalRun.objects.select_related("golden_set_owner", "recorded_by", "accepted_by"),
    )


def _version(value: str) -> str:
    return f"'{value}'" if value else _("no recorded version")


def _run_age_days(run, ctx: Context) -> int:
    """Whole days since the run's date; a run dated later today, or ahead in another time zone, is 0."""
    return max(0, (ctx.today - timezone.localdate(run.run_at)).days)


def _days_ago(days: int) -> str:
    if days == 0:
        return _("today")
    return ngettext("%(count)s day ago", "%(count)s days ago", days) % {"count": days}


def counted_run(bar, launch, ctx: Context):
    """The run that counts as the bar's evidence: the latest *recorded* among those that count
    (accepted, where they needed acceptance), measured the version in service and ran within
    ``EVIDENCE_MAX_AGE_DAYS``. A run dated in the future is
    not filtered out here: recorded last, it is the evidence, and it proves nothing."""
    serving = launch.serving_version
    if not serving:
        return None
    limit = settings.EVIDENCE_MAX_AGE_DAYS
    candidates = [
        run
        for run in bar.eval_runs.all()
        if run.counts and run.measured_version == serving and _run_age_days(run, ctx) <= limit
    ]
    return max(candidates, key=lambda run: (run.recorded_at, run.pk)) if candidates else None


def _why_nothing_counts(bar, launch, ctx: Context) -> str:
    """Why the latest recorded run is not evidence for what is in service now."""
    if not launch.serving_version:
        return _(
            "Quality bar '%(metric)s': the launch records no serving version (the model/prompt version in service), "
            "so no evaluation can show it measured what users get."
        ) % {"metric": bar.metric}
    run = bar.latest_eval_run()
    limit = settings.EVIDENCE_MAX_AGE_DAYS
    reasons = []
    if not run.counts:
        reasons.append(_("waits for acceptance"))
    if run.measured_version != launch.serving_version:
        reasons.append(
            _("measured %(measured)s, but %(serving)s is in service")
            % {"measured": _version(run.measured_version), "serving": _version(launch.serving_version)}
        )
    if (age := _run_age_days(run, ctx)) > limit:
        reasons.append(
            _("ran %(age)s days ago (%(date)s), older than the %(limit)s days evidence counts for")
            % {"age": age, "date": shown_date(run.run_at), "limit": limit}
        )
    return _("Quality bar '%(metric)s': no evaluation counts; the latest recorded %(reasons)s.") % {
        "metric": bar.metric,
        "reasons": join_and(reasons),
    }


def _tolerance(bar, run) -> str:
    """How many failures the run's sample size allows while still proving the bar."""
    confidence, limit = float(bar.confidence_level), float(bar.max_failure_rate)
    tolerated = failures_tolerated(run.samples, confidence, limit)
    if tolerated is not None:
        return ngettext(
            "passes with up to %(count)s failure in %(samples)s",
            "passes with up to %(count)s failures in %(samples)s",
            tolerated,
        ) % {"count": tolerated, "samples": f"{run.samples:,}"}
    needed = samples_needed_without_failures(confidence, limit)
    if needed is None:
        return _("no evaluation proves a maximum of %(maximum)s, whatever its size") % {"maximum": percent(limit)}
    return _(
        "no failure count passes at %(samples)s samples; without failures it takes at least %(needed)s samples"
    ) % {"samples": f"{run.samples:,}", "needed": f"{needed:,}"}


@register(
    "quality_evidence",
    number=12,
    title=gettext_lazy("Quality evidence"),
    prefetch=[quality_bars_with_agreements, _eval_runs_with_owners],
)
def quality_evidence(ctx: Context) -> Outcome:
    bars = list(ctx.launch.quality_bars.all())
    if not bars:
        return Outcome.failed(_("No quality bar is recorded, so no evidence can show the failure rate is acceptable."))
    problems, proven = [], []
    for bar in bars:
        if bar.latest_eval_run() is None:
            problems.append(_("Quality bar '%(metric)s' has no evaluation run.") % {"metric": bar.metric})
            continue
        run = counted_run(bar, ctx.launch, ctx)
        if run is None:
            problems.append(_why_nothing_counts(bar, ctx.launch, ctx))
            continue
        verdict, proves = _judge_run(bar, run, ctx)
        if (pending := bar.pending_run()) is not None:
            verdict.append(_pending_note(bar, pending))
        if proves and bar.agreed_by_id is None:
            # A maximum nobody who answers for it agreed proves nothing: the owner could loosen it
            # to whatever the evidence shows.
            problems.append(
                _("Quality bar '%(metric)s': the evaluation is within its maximum, but nobody agreed that maximum.")
                % {"metric": bar.metric}
            )
            continue
        (proven if proves else problems).extend(verdict)
    if problems:
        return Outcome.failed(*problems)
    return Outcome.passed(*proven)


def _pending_note(bar, run) -> str:
    return _(
        "Quality bar '%(metric)s': a newer evaluation (%(failures)s/%(samples)s, recorded by %(person)s) "
        "waits for acceptance and does not count yet."
    ) % {
        "metric": bar.metric,
        "failures": run.failures,
        "samples": run.samples,
        "person": person_name(run.recorded_by) if run.recorded_by_id else _("someone"),
    }


def run_proves(bar, run, ctx: Context) -> bool:
    """The counted ``run`` proves ``bar`` (item 12's verdict on it)."""
    return _judge_run(bar, run, ctx)[1]


def _judge_run(bar, run, ctx: Context) -> tuple[list[str], bool]:
    """Reasons about the counted run, and whether it proves the bar."""
    names = {"metric": bar.metric, "golden_set": run.golden_set_name, "golden_version": run.golden_set_version}
    if is_future(run.run_at, now=ctx.now):
        return [
            _(
                "Quality bar '%(metric)s': the latest evaluation is dated in the future (%(when)s), so it proves nothing."
            )
            % {**names, "when": shown_moment(run.run_at)}
        ], False
    if run.golden_set_owner_id is None:
        return [
            _(
                "Quality bar '%(metric)s': golden set %(golden_set)s %(golden_version)s has no owner, "
                "so its evaluation does not count."
            )
            % names
        ], False
    judgement = judge(bar, run)
    shortfalls = []
    if not judgement.enough_samples:
        shortfalls.append(
            _(
                "Quality bar '%(metric)s': the latest evaluation has %(samples)s samples, "
                "fewer than the %(required)s required."
            )
            % {**names, "samples": run.samples, "required": bar.min_samples}
        )
    if not judgement.enough_human_review:
        shortfalls.append(
            _(
                "Quality bar '%(metric)s': a person reviewed %(reviewed)s of %(samples)s samples (%(share)s), "
                "less than the %(required)s the bar requires."
            )
            % {
                **names,
                "reviewed": run.human_reviewed,
                "samples": run.samples,
                "share": percent(run.human_reviewed / run.samples),
                "required": percent(float(bar.min_human_reviewed_share)),
            }
        )
    if shortfalls:
        return shortfalls, False
    values = {
        **names,
        "failures": run.failures,
        "samples": run.samples,
        "measured": _version(run.measured_version),
        "when": _days_ago(_run_age_days(run, ctx)),
        "confidence": percent(float(bar.confidence_level)),
        "bound": percent(judgement.upper_bound),
        "maximum": percent(float(bar.max_failure_rate)),
        "tolerance": _tolerance(bar, run),
    }
    if judgement.within_maximum:
        verdict = _(
            "Quality bar '%(metric)s': %(failures)s/%(samples)s failures on %(golden_set)s %(golden_version)s, "
            "measured on %(measured)s %(when)s; the one-sided %(confidence)s upper bound is %(bound)s "
            "against an agreed maximum of %(maximum)s; %(tolerance)s."
        )
    else:
        verdict = _(
            "Quality bar '%(metric)s': %(failures)s/%(samples)s failures on %(golden_set)s %(golden_version)s, "
            "measured on %(measured)s %(when)s; the one-sided %(confidence)s upper bound is %(bound)s "
            "against an agreed maximum of %(maximum)s — not yet proven; %(tolerance)s."
        )
    return [verdict % values], judgement.within_maximum
