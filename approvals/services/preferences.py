"""A person's own notification settings (``approvals.preferences`` applies them)."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import NotificationPreference


@transaction.atomic
def notification_preferences_set(
    *,
    actor,
    person=None,
    email: bool,
    slack: bool,
    mode: str,
    quiet_from: datetime.time | None,
    quiet_until: datetime.time | None,
    time_zone: str,
) -> NotificationPreference:
    """Keep how ``actor`` wants to be told: e-mail and Slack on or off, at once or in a daily
    digest, quiet hours (both ends or neither, not equal) in a time zone (empty: the site's).
    Everyone for themselves only: ``person``, if given, must be ``actor``. The whole row is
    validated (``NotificationPreference.clean``) before anything is saved."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied(_("Sign in to choose how you are notified."))
    if person is not None and person.pk != actor.pk:
        raise PermissionDenied(_("Everyone chooses their own notification settings."))
    if not isinstance(email, bool) or not isinstance(slack, bool):
        raise ValidationError({"email" if not isinstance(email, bool) else "slack": _("Choose on or off.")})
    preference = NotificationPreference.objects.select_for_update().filter(user=actor).first()
    if preference is None:
        preference = NotificationPreference(user=actor)
    preference.email, preference.slack, preference.mode = email, slack, mode
    preference.quiet_from, preference.quiet_until = quiet_from, quiet_until
    preference.time_zone = time_zone or ""
    preference.full_clean()
    preference.save()
    return preference
