from django.db import models


class RiskTier(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class StageKind(models.TextChoices):
    INTERNAL = "internal", "Internal"
    BETA = "beta", "Beta"
    FULL = "full", "Full"
    CUSTOM = "custom", "Custom"


class Classification(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    PERSONAL = "personal", "Personal (PII)"


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
    OPEN = "open", "Open to anyone"
    ALL_EMPLOYEES = "all_employees", "All employees"
    NEED_TO_KNOW = "need_to_know", "Need to know (named teams)"
    RESTRICTED = "restricted", "Restricted (named people, logged)"


class SloIndicator(models.TextChoices):
    SUCCESS_RATE = "success_rate", "Success rate (%)"
    LATENCY_P50 = "latency_p50", "Latency p50 (ms)"
    LATENCY_P95 = "latency_p95", "Latency p95 (ms)"
    LATENCY_P99 = "latency_p99", "Latency p99 (ms)"
    ERROR_RATE = "error_rate", "Error rate (%)"
    COST_DAILY = "cost_daily", "Daily cost"
    COST_MONTHLY = "cost_monthly", "Monthly cost"


# Indicators where a higher value is better: the target is a floor and the alert fires below it.
HIGHER_IS_BETTER = frozenset({SloIndicator.SUCCESS_RATE})
PERCENT_INDICATORS = frozenset({SloIndicator.SUCCESS_RATE, SloIndicator.ERROR_RATE})
COST_INDICATORS = frozenset({SloIndicator.COST_DAILY, SloIndicator.COST_MONTHLY})


class Severity(models.TextChoices):
    P0 = "P0", "P0 — whole service down"
    P1 = "P1", "P1 — core feature broken"
    P2 = "P2", "P2 — partial degradation"
    P3 = "P3", "P3 — minor issue"


class NotifyScope(models.TextChoices):
    """Who a severity level pages; resolved to named people through the RACI."""

    ALL_TEAMS = "all_teams", "All teams (every Responsible and Accountable)"
    OWNING_TEAM = "owning_team", "Owning team (Responsible and Accountable of the area)"
    ASSIGNEE = "assignee", "Assignee (Responsible of the area)"
    BACKLOG = "backlog", "Backlog (Accountable of the area triages)"


class FeedbackKind(models.TextChoices):
    LOW_CONFIDENCE = "low_confidence", "Low-confidence capture"
    NEGATIVE_FEEDBACK = "negative_feedback", "Negative user feedback"
    GOLDEN_SET_REVIEW = "golden_set_review", "Human review of a golden set"
    SUPPORT_TICKETS = "support_tickets", "Support tickets"
    OTHER = "other", "Other"


class ReviewCadence(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    BIWEEKLY = "biweekly", "Every two weeks"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
