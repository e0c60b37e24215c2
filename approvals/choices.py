from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    SUPERSEDED = "superseded", _("Superseded by a newer request")


# A request's status follows its decisions while it is open; withdrawing it, or requesting the same
# sign-off again, closes it for good.
DECIDABLE_STATUSES = frozenset(
    {RequestStatus.PENDING, RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.CHANGES_REQUESTED}
)
CLOSED_STATUSES = frozenset({RequestStatus.WITHDRAWN, RequestStatus.SUPERSEDED})
REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    **{status: DECIDABLE_STATUSES | CLOSED_STATUSES for status in DECIDABLE_STATUSES},
    **{status: frozenset() for status in CLOSED_STATUSES},
}


class DecisionOutcome(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    REQUEST_CHANGES = "request_changes", _("Request changes")


def request_status(outcomes: list[str], approvals_required: int) -> str:
    """An open request's status from its current decisions' outcomes: any rejection rejects it,
    any change request holds it, enough approvals approve it."""
    if DecisionOutcome.REJECT in outcomes:
        return RequestStatus.REJECTED
    if DecisionOutcome.REQUEST_CHANGES in outcomes:
        return RequestStatus.CHANGES_REQUESTED
    if outcomes.count(DecisionOutcome.APPROVE) >= approvals_required:
        return RequestStatus.APPROVED
    return RequestStatus.PENDING


class MessageKind(models.TextChoices):
    """What a message in a sign-off's conversation is."""

    COMMENT = "comment", _("Comment")
    QUESTION = "question", _("Question to the launch owner")
    REPLY = "reply", _("Reply")
    # A rejection's or change request's comment, which opens the conversation.
    DECISION = "decision", _("Decision")


# Outcomes that must explain themselves.
OUTCOMES_NEEDING_COMMENT = frozenset({DecisionOutcome.REJECT, DecisionOutcome.REQUEST_CHANGES})


# Sign-offs are the four-eyes control itself: they cannot be waived.
# An open P0 or P1 incident (operations' "no_open_major_incident") is not a paperwork gap to accept
# for a stage: the service is down or broken now.
UNWAIVABLE_CHECKS = frozenset({"stakeholders_approved", "no_open_major_incident"})


# The area whose Accountable may approve a waiver of each checklist item (executives may approve any).
WAIVER_AREAS = {
    "failure_rate_agreed": "model_quality",
    "quality_evidence": "model_quality",
    "data_classified": "data_retrieval",
    "pii_policy": "policy",
    "incident_owner": "infrastructure",
    "slos_defined": "infrastructure",
    "monitoring_dashboard": "infrastructure",
    "rollback_plan": "infrastructure",
    "incident_runbook": "infrastructure",
    "feedback_loop": "user_experience",
    "incidents_reviewed": "infrastructure",
    "operating_within_slos": "infrastructure",
}


def unwaivable_reason(check_key: str) -> str:
    if check_key == "no_open_major_incident":
        return gettext("An open P0 or P1 incident cannot be waived; resolve it first.")
    return gettext("Sign-offs cannot be waived; they are the approval itself.")


class WaiverStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


WAIVER_TRANSITIONS: dict[str, frozenset[str]] = {
    WaiverStatus.PENDING: frozenset({WaiverStatus.APPROVED, WaiverStatus.REJECTED}),
    WaiverStatus.APPROVED: frozenset(),
    WaiverStatus.REJECTED: frozenset(),
}


class PolicyChangeStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


POLICY_CHANGE_TRANSITIONS: dict[str, frozenset[str]] = {
    PolicyChangeStatus.PENDING: frozenset({PolicyChangeStatus.APPROVED, PolicyChangeStatus.REJECTED}),
    PolicyChangeStatus.APPROVED: frozenset(),
    PolicyChangeStatus.REJECTED: frozenset(),
}


class NotificationEvent(models.TextChoices):
    """What the sign-off workflow tells people about (registered in ``approvals.notices``)."""

    SIGNOFF_REQUESTED = "signoff_requested", _("Sign-off requested")
    SIGNOFF_DECIDED = "signoff_decided", _("Sign-off decided")
    SIGNOFF_DELEGATED = "signoff_delegated", _("Sign-off delegated")
    SIGNOFF_WITHDRAWN = "signoff_withdrawn", _("Sign-off withdrawn")
    # The conversation on a sign-off (approvals.services.conversation).
    SIGNOFF_QUESTION = "signoff_question", _("Question on a sign-off")
    SIGNOFF_REPLY = "signoff_reply", _("Reply on a sign-off")
    SIGNOFF_COMMENT = "signoff_comment", _("Comment on a sign-off")
    WAIVER_REQUESTED = "waiver_requested", _("Waiver requested")
    WAIVER_DECIDED = "waiver_decided", _("Waiver decided")
    STAGE_ADVANCED = "stage_advanced", _("Stage advanced")
    STAGE_ROLLED_BACK = "stage_rolled_back", _("Stage rolled back")
    # Found by the scheduled sweeps (approvals.reminders), not by a service's transaction.
    SIGNOFF_STALE = "signoff_stale", _("Approval made stale by a change")
    SIGNOFF_EXPIRING = "signoff_expiring", _("Approval about to expire")
    SIGNOFF_OVERDUE = "signoff_overdue", _("Sign-off overdue")
    SIGNOFF_ESCALATED = "signoff_escalated", _("Overdue sign-off escalated")
    ACKNOWLEDGEMENT_REQUESTED = "ack_requested", _("Acknowledgement asked")
    FACT_EXPIRING = "fact_expiring", _("About to expire")
    DIGEST = "digest", _("Daily digest")
    # The daily recertification (approvals.recertification).
    STAGE_LAPSED = "stage_lapsed", _("Stage no longer holds")
