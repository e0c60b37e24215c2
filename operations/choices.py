from django.db import models
from django.utils.translation import gettext_lazy as _


class IncidentEvent(models.TextChoices):
    """What incidents tell the people their severity level pages (worded in ``operations.notices``)."""

    REPORTED = "incident_reported", _("Incident reported")
    SEVERITY_CHANGED = "incident_severity", _("Incident severity changed")
