"""Checklist item 1, "Stakeholders have approved"."""

from readiness.checklist import Context, Outcome, register


@register("stakeholders_approved", number=1, title="Stakeholders have approved")
def stakeholders_approved(ctx: Context) -> Outcome:
    return Outcome.not_applicable("The sign-off workflow is not in use yet.")
