"""What the web interface keeps of its own: the answer each form submission got (idempotency).

Not governance data: a submission row only lets a resubmitted form answer as the first did without
acting twice (``web.idempotency``); the actions themselves are recorded by the domain's services."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Submission(models.Model):
    """One state-changing POST by one person, under the one-time key its form carried (or its
    ``Idempotency-Key`` header), with what it answered. Written in the same transaction as the
    action, so a key is recorded exactly when its action is; the unique constraint lets one of two
    identical POSTs at the same moment act, and the other answer what it answered."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    # A hash of what was posted (but the CSRF token and the key): a form left on the page and sent
    # again with other values is another submission, not a resubmission.
    fingerprint = models.CharField(max_length=64)
    path = models.CharField(max_length=2000)
    status = models.PositiveSmallIntegerField()
    headers = models.JSONField(default=dict)  # Location, Content-Type and htmx's HX-* headers
    content = models.BinaryField(blank=True, default=b"")
    # Rows past SUBMISSION_RETENTION_HOURS may be deleted (``submissions_forget``).
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key", "fingerprint"], name="web_submission_once"),
        ]

    def __str__(self) -> str:
        return f"{self.path} ({self.status})"
