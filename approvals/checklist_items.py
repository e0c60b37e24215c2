"""Checklist item 1, "Stakeholders have approved", and the waivers that apply to any item."""

from readiness.checklist import Context, Outcome, register, registry
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
    title="Stakeholders have approved",
    prefetch=signoff_prefetches(),
    gates_every_stage=True,
)
def stakeholders_approved(ctx: Context) -> Outcome:
    if ctx.stage is None:
        return Outcome.not_applicable("There is no stage to enter.")
    states = stage_signoffs(ctx.launch, ctx.stage, now=ctx.now)
    problems = [problem for state in states for problem in state.problems]
    problems += standing_objections(ctx.launch, ctx.stage, {state.requirement.function for state in states})
    problems += acknowledgement_problems(ctx.launch, ctx.stage)
    if not states and not problems:
        return Outcome.passed(f"No sign-off is required to enter {ctx.stage.name}.")
    summary = ", ".join(f"{s.requirement.function_label} ×{s.requirement.approvals_required}" for s in states)
    if problems:
        return Outcome.failed(*problems)
    earlier = [f"{s.requirement.function_label}: {note}" for s in states for note in s.earlier_objections]
    return Outcome.passed(f"All required sign-offs are approved and fresh: {summary}.", *earlier)


def _waivers_in_force(ctx: Context) -> dict[str, str]:
    notes = {}
    for waiver in ctx.launch.waivers.all():
        if waiver.check_key in UNWAIVABLE_CHECKS:
            continue
        if waiver.stage_id == ctx.stage.pk and waiver.is_in_force(ctx.today):
            notes[waiver.check_key] = (
                f"Waived for {ctx.stage.name} until {waiver.expires_on.isoformat()} "
                f"by {person_name(waiver.decided_by)}: {waiver.justification}"
            )
    return notes


registry.register_waiver_source(_waivers_in_force)
registry.register_preparer(prepare_checklist)
