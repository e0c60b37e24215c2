"""Checklist item 1, "Stakeholder approvals", and the waivers that apply to any item."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from readiness.checklist import Context, Outcome, register, registry
from readiness.i18n import shown_date
from readiness.people import person_name

from .choices import UNWAIVABLE_CHECKS
from .selectors import (
    acknowledgement_problems,
    prepare_checklist,
    signoff_prefetches,
    stage_signoffs,
    standing_objections,
)


@register(
    "stakeholders_approved",
    number=1,
    title=gettext_lazy("Stakeholder approvals"),
    prefetch=signoff_prefetches(),
    gates_every_stage=True,
)
def stakeholders_approved(ctx: Context) -> Outcome:
    if ctx.stage is None:
        return Outcome.not_applicable(_("There is no stage to enter."))
    states = stage_signoffs(ctx.launch, ctx.stage, now=ctx.now)
    problems = [problem for state in states for problem in state.problems]
    problems += standing_objections(ctx.launch, ctx.stage, {state.requirement.function for state in states})
    problems += acknowledgement_problems(ctx.launch, ctx.stage)
    if not states and not problems:
        return Outcome.passed(_("No sign-off is required to enter %(stage)s.") % {"stage": ctx.stage.name})
    summary = ", ".join(f"{s.requirement.function_label} ×{s.requirement.approvals_required}" for s in states)
    if problems:
        return Outcome.failed(*problems)
    earlier = [f"{s.requirement.function_label}: {note}" for s in states for note in s.earlier_objections]
    return Outcome.passed(
        _("All required sign-offs are approved and fresh: %(summary)s.") % {"summary": summary}, *earlier
    )


def _waivers_in_force(ctx: Context) -> dict[str, str]:
    notes = {}
    for waiver in ctx.launch.waivers.all():
        if waiver.check_key in UNWAIVABLE_CHECKS:
            continue
        if waiver.stage_id == ctx.stage.pk and waiver.is_in_force(ctx.today):
            notes[waiver.check_key] = _("Waived for %(stage)s until %(date)s by %(person)s: %(justification)s") % {
                "stage": ctx.stage.name,
                "date": shown_date(waiver.expires_on),
                "person": person_name(waiver.decided_by),
                "justification": waiver.justification,
            }
    return notes


registry.register_waiver_source(_waivers_in_force)
registry.register_preparer(prepare_checklist)
