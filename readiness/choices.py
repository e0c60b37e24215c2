from django.db import models
from django.utils.translation import gettext_lazy as _


class RiskTier(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class StageKind(models.TextChoices):
    INTERNAL = "internal", _("Internal")
    BETA = "beta", _("Beta")
    FULL = "full", _("Full")
    CUSTOM = "custom", _("Custom")


class Classification(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal")
    CONFIDENTIAL = "confidential", _("Confidential")
    PERSONAL = "personal", _("Personal (PII)")


# How sensitive each class is: lowering it (or removing a personal or confidential asset) lowers
# what the launch must show (items 5 and 6, legal and security sign-offs), so it is not the owner's act.
SENSITIVITY = {
    "": 0,
    Classification.PUBLIC: 1,
    Classification.INTERNAL: 2,
    Classification.CONFIDENTIAL: 3,
    Classification.PERSONAL: 4,
}
SENSITIVE_CLASSES = (Classification.CONFIDENTIAL, Classification.PERSONAL)


class AccessLevel(models.TextChoices):
    OPEN = "open", _("Open to anyone")
    ALL_EMPLOYEES = "all_employees", _("All employees")
    NEED_TO_KNOW = "need_to_know", _("Need to know (named teams)")
    RESTRICTED = "restricted", _("Restricted (named people, logged)")


class SloIndicator(models.TextChoices):
    SUCCESS_RATE = "success_rate", _("Success rate (%)")
    LATENCY_P50 = "latency_p50", _("Latency p50 (ms)")
    LATENCY_P95 = "latency_p95", _("Latency p95 (ms)")
    LATENCY_P99 = "latency_p99", _("Latency p99 (ms)")
    ERROR_RATE = "error_rate", _("Error rate (%)")
    COST_DAILY = "cost_daily", _("Daily cost")
    COST_MONTHLY = "cost_monthly", _("Monthly cost")


# Indicators where a higher value is better: the target is a floor and the alert fires below it.
HIGHER_IS_BETTER = frozenset({SloIndicator.SUCCESS_RATE})
PERCENT_INDICATORS = frozenset({SloIndicator.SUCCESS_RATE, SloIndicator.ERROR_RATE})
COST_INDICATORS = frozenset({SloIndicator.COST_DAILY, SloIndicator.COST_MONTHLY})


class Severity(models.TextChoices):
    P0 = "P0", _("P0 — whole service down")
    P1 = "P1", _("P1 — core feature broken")
    P2 = "P2", _("P2 — partial degradation")
    P3 = "P3", _("P3 — minor issue")


class NotifyScope(models.TextChoices):
    """Who a severity level pages; resolved to named people through the RACI."""

    ALL_TEAMS = "all_teams", _("All teams (every Responsible and Accountable)")
    OWNING_TEAM = "owning_team", _("Owning team (Responsible and Accountable of the area)")
    ASSIGNEE = "assignee", _("Assignee (Responsible of the area)")
    BACKLOG = "backlog", _("Backlog (Accountable of the area triages)")


class FeedbackKind(models.TextChoices):
    LOW_CONFIDENCE = "low_confidence", _("Low-confidence capture")
    NEGATIVE_FEEDBACK = "negative_feedback", _("Negative user feedback")
    GOLDEN_SET_REVIEW = "golden_set_review", _("Human review of a golden set")
    SUPPORT_TICKETS = "support_tickets", _("Support tickets")
    OTHER = "other", _("Other")


class ReviewCadence(models.TextChoices):
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    BIWEEKLY = "biweekly", _("Every two weeks")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
