from django.db import models
from django.utils.translation import gettext_lazy


class ReportKind(models.TextChoices):
    LAUNCH = "launch", gettext_lazy("Launch readiness report")
    CHECKLIST = "checklist", gettext_lazy("Stage checklist")
    PORTFOLIO = "portfolio", gettext_lazy("Portfolio report")


class ReportStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Being rendered")
    READY = "ready", gettext_lazy("Ready")
    FAILED = "failed", gettext_lazy("Failed")
    # Rendered, and its PDF deleted after REPORT_PDF_RETENTION_DAYS (housekeeping): the row keeps
    # what the report was, its hash and seal, so a copy downloaded earlier still verifies.
    EXPIRED = "expired", gettext_lazy("PDF expired")


class ReportEvent(models.TextChoices):
    """What reports tell people about (worded in ``reports.notices``)."""

    READY = "report_ready", gettext_lazy("Report ready")
