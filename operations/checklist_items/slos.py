"""Checklist items evaluated from what happened after launch (see ``readiness.checklist``)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from readiness.checklist import Context, Outcome, register, registry
from readiness.checklist_items import slos_with_agreements
from readiness.i18n import shown_date

from ..selectors.slos import SloStanding, load_recent_actuals, slo_standings


def number(value: Decimal | None, *, apart_from: Decimal | None = None) -> str:
    """``value`` to two decimals, or as many more (up to six) as it takes not to print the same
    as ``apart_from``: a mean of 99.496 is "99.496" against a target of 99.5, never "99.5"."""
    if value is None:
        return "—"
    places = 2
    while apart_from is not None and value != apart_from and places < 6:
        if value.quantize(Decimal(1).scaleb(-places)) != apart_from.quantize(Decimal(1).scaleb(-places)):
            break
        places += 1
    return f"{value.quantize(Decimal(1).scaleb(-places)).normalize():f}"


def breach_reasons(standing: SloStanding) -> list[str]:
    """Why an SLO is breached, in words a PM can act on."""
    slo = standing.slo
    names = {
        "slo": slo.get_indicator_display(),
        "value": number(standing.value, apart_from=slo.target),
        "target": number(slo.target),
        "comparator": slo.comparator,
        "start": shown_date(standing.start),
        "end": shown_date(standing.end),
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
            % {
                "day": shown_date(day),
                "value": number(value, apart_from=slo.alert_threshold),
                "limit": number(slo.alert_threshold),
            }
        )
    return reasons


@register(
    "operating_within_slos",
    number=15,
    title=gettext_lazy("SLO compliance"),
    prefetch=[slos_with_agreements],
)
def operating_within_slos(ctx: Context) -> Outcome:
    """Once a launch serves users (it has entered a stage), its measured SLIs must keep within its
    SLOs for it to go further: this item gates the *next* stage (it is in the Internal and Beta
    defaults, and a Full stage is gated by every item). Judged on the month of the latest complete
    day, through yesterday (``operations.selectors`` says exactly what is computed).

    - Not applicable while the launch is in planning (nothing serves users, so there are no
      actuals), when it has no SLO (item 7 asks for them), and while no SLO has any actual for the
      period: a launch that has just entered its first stage has nothing to judge yet. The reason
      says so, and which values to record.
    - Fails when any SLO is breached: the month-to-date mean misses the target (success rate below,
      error rate, latency or daily cost above; exactly at the target is met, which for the rates
      is the pro-rata error budget exactly used); the monthly cost so far is above the monthly
      budget; or the latest day's cost is above the daily alert limit.
    - Passes when no SLO is breached; an SLO without actuals for the period is named in the
      reasons ("not measured"), so the page shows what is missing.

    Missing actuals do not fail the item on their own: a freshness rule ("a launch in service
    must report daily") needs the day its stage was entered, which the ledger holds and operations
    does not read; see the report of this change."""
    if ctx.launch.current_stage_id is None:
        return Outcome.not_applicable(_("The launch serves no users yet; SLO actuals count once a stage is entered."))
    standings = slo_standings(ctx.launch, ctx.today)
    if not standings:
        return Outcome.not_applicable(_("No SLO is recorded (item 7 asks for them), so nothing can be breached."))
    first = standings[0]
    names = {"start": shown_date(first.start), "end": shown_date(first.end)}
    unmeasured = [
        _(
            "SLO '%(slo)s' has no measured value from %(start)s to %(end)s: record the daily values "
            "(record_sli command, the form on the launch page, or a Prometheus source)."
        )
        % {**names, "slo": standing.slo.get_indicator_display()}
        for standing in standings
        if not standing.days_measured
    ]
    if len(unmeasured) == len(standings):
        return Outcome.not_applicable(*unmeasured)
    problems = [reason for standing in standings if standing.breached for reason in breach_reasons(standing)]
    if problems:
        return Outcome.failed(*problems, *unmeasured)
    fine = [s.slo.get_indicator_display() for s in standings if s.days_measured]
    return Outcome.passed(
        _("No SLO is breached from %(start)s to %(end)s: %(slos)s.") % {**names, "slos": ", ".join(fine)},
        *unmeasured,
    )


registry.register_preparer(load_recent_actuals)
