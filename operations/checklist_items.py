"""Checklist items evaluated from what happened after launch (see ``readiness.checklist``)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from readiness.checklist import Context, Outcome, register
from readiness.checklist_items import slos_with_agreements

from .selectors import SloStanding, recent_actuals, slo_standings


def number(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value.quantize(Decimal('0.01')).normalize():f}"


def _recent_actuals():
    return recent_actuals(timezone.localdate())


def breach_reasons(standing: SloStanding) -> list[str]:
    """Why an SLO is breached, in words a PM can act on."""
    slo = standing.slo
    names = {
        "slo": slo.get_indicator_display(),
        "value": number(standing.value),
        "target": number(slo.target),
        "comparator": slo.comparator,
        "start": standing.start.isoformat(),
        "end": standing.end.isoformat(),
        "days": standing.days_measured,
    }
    reasons = []
    if "target" in standing.breaches:
        reasons.append(
            _(
                "SLO '%(slo)s' is breached: from %(start)s to %(end)s (%(days)s measured days) it averaged "
                "%(value)s against a target of %(comparator)s %(target)s."
            )
            % names
        )
        if standing.budget_left is not None and standing.budget_left < 0:
            reasons.append(_("SLO '%(slo)s' has used its whole error budget for the month.") % names)
    if "budget" in standing.breaches:
        reasons.append(
            _(
                "The monthly cost budget is exceeded: %(value)s spent from %(start)s to %(end)s against a budget "
                "of %(target)s."
            )
            % names
        )
    if "alert" in standing.breaches:
        day, value = standing.latest
        reasons.append(
            _("The daily cost on %(day)s was %(value)s, above the daily alert limit of %(limit)s.")
            % {"day": day.isoformat(), "value": number(value), "limit": number(slo.alert_threshold)}
        )
    return reasons


@register(
    "operating_within_slos",
    number=15,
    title=gettext_lazy("Operating within SLOs"),
    prefetch=[slos_with_agreements, _recent_actuals],
    gates_every_stage=True,
)
def operating_within_slos(ctx: Context) -> Outcome:
    """Once a launch serves users (it has entered a stage), its measured SLIs must keep within its
    SLOs for it to go further: this item gates the *next* stage. Judged on the month of the latest
    complete day, through yesterday (``operations.selectors`` says exactly what is computed).

    - Not applicable while the launch is in planning (nothing serves users yet, so there are no
      actuals), and when it has no SLO (item 7 asks for them).
    - Fails when any SLO is breached: the month-to-date mean misses the target (success rate below,
      error rate, latency or daily cost above; exactly at the target is met, and for the rates that
      is the same as the pro-rata error budget exactly used); the monthly cost so far is above the
      monthly budget; or the latest day's cost is above the daily alert limit.
    - Fails when an SLO has no actual at all for the period: a launch in service that reports
      nothing cannot show it operates within its SLOs.

    Gates every stage (``gates_every_stage``): before the first it is not applicable, so in effect
    it gates each stage after the first one entered."""
    if ctx.launch.current_stage_id is None:
        return Outcome.not_applicable(_("The launch serves no users yet; SLO actuals count once a stage is entered."))
    standings = slo_standings(ctx.launch, ctx.today)
    if not standings:
        return Outcome.not_applicable(_("No SLO is recorded (item 7 asks for them), so nothing can be breached."))
    problems, fine = [], []
    for standing in standings:
        label = standing.slo.get_indicator_display()
        if not standing.days_measured:
            problems.append(
                _(
                    "SLO '%(slo)s' has no measured value from %(start)s to %(end)s: record the daily values "
                    "(record_sli command, the form on the launch page, or a Prometheus source)."
                )
                % {"slo": label, "start": standing.start.isoformat(), "end": standing.end.isoformat()}
            )
        elif standing.breached:
            problems.extend(breach_reasons(standing))
        else:
            fine.append(label)
    if problems:
        return Outcome.failed(*problems)
    first = standings[0]
    return Outcome.passed(
        _("Every SLO is met from %(start)s to %(end)s: %(slos)s.")
        % {"start": first.start.isoformat(), "end": first.end.isoformat(), "slos": ", ".join(fine)}
    )
