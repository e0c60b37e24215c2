"""Small presentation helpers for the product's templates."""

import datetime

from django import template

register = template.Library()


@register.filter
def minutes(value: datetime.timedelta | None) -> int:
    """Whole minutes in a duration, rounded up (a lockout of 30 seconds reads "1 minute")."""
    if not isinstance(value, datetime.timedelta):
        return 0
    return max(1, -(-int(value.total_seconds()) // 60))


# Where on the launch page each checklist item is fixed.
FIX_ANCHORS = {
    "stakeholders_approved": "signoffs-heading",
    "failure_rate_agreed": "facts-qualitybar",
    "raci_defined": "raci",
    "incident_owner": "facts-severitylevel",
    "data_classified": "facts-dataasset",
    "pii_policy": "facts-dataasset",
    "slos_defined": "facts-slo",
    "monitoring_dashboard": "facts-slo",
    "rollback_plan": "facts-rollbackplan",
    "incident_runbook": "facts-runbook",
    "feedback_loop": "facts-feedbackchannel",
    "quality_evidence": "facts-evalrun",
}


@register.filter
def fix_anchor(key: str) -> str:
    """The id of the launch page's section where the checklist item ``key`` is fixed (the item itself otherwise)."""
    return FIX_ANCHORS.get(key, f"item-{key}")
