"""How each person wants to be told: the rules the outbox applies, in one place.

- Which channels: e-mail when it is on and the person has an address; Slack when it is on and one
  of their teams has a webhook in ``settings.SLACK_WEBHOOKS`` (``channels_for``).
- When: at once, or held for the daily digest (``wants_immediately``); in-app notices are always
  written at once, whatever the preference.
- Quiet hours: nothing is sent while they last, in the person's time zone (``quiet_hours_end``).

No preference row means the defaults: e-mail and Slack on, at once, no quiet hours."""

from __future__ import annotations

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings

from .choices import DeliveryMode, NotificationChannel, NotificationEvent
from .models import NotificationPreference

DEFAULTS = NotificationPreference(email=True, slack=True, mode=DeliveryMode.IMMEDIATE)

# Events a person in digest mode still gets at once: the digest itself, and news that someone on
# their launch could not be reached (they must act on it today, not tomorrow).
NEVER_HELD_FOR_DIGEST = frozenset({NotificationEvent.DIGEST, NotificationEvent.DELIVERY_FAILED})


def wants_immediately(preference: NotificationPreference | None, event: str) -> bool:
    """Whether an e-mail or Slack message about ``event`` goes out now (True) or waits for the
    person's daily digest (False). The digest itself and delivery failures are never held back."""
    preference = preference or DEFAULTS
    return preference.mode != DeliveryMode.DIGEST or event in NEVER_HELD_FOR_DIGEST


def preference_of(user) -> NotificationPreference:
    """``user``'s preferences, or the defaults (unsaved) when they never chose; no query when the
    row was fetched with the user (``select_related("notification_preference")``)."""
    try:
        return user.notification_preference
    except NotificationPreference.DoesNotExist:
        return _default(user)


def preferences_of(users: Iterable) -> dict[int, NotificationPreference]:
    """The preferences of ``users`` by user id, the defaults for those without a row; one query."""
    users = list(users)
    rows = {p.user_id: p for p in NotificationPreference.objects.filter(user__in=[u.pk for u in users])}
    return {u.pk: rows.get(u.pk) or _default(u) for u in users}


def _default(user) -> NotificationPreference:
    return NotificationPreference(user=user, email=True, slack=True, mode=DeliveryMode.IMMEDIATE)


def slack_team_names(users: Iterable) -> dict[int, list[str]]:
    """For each of ``users`` (by id) the names of their teams that have a Slack webhook, sorted;
    one query, none when no webhook is configured."""
    from raci.models import Team

    webhooks = settings.SLACK_WEBHOOKS
    found: dict[int, list[str]] = defaultdict(list)
    if not webhooks:
        return found
    rows = (
        Team.objects.filter(name__in=list(webhooks), members__user__in=[u.pk for u in users])
        .values_list("members__user_id", "name")
        .order_by("name")
    )
    for user_id, name in rows:
        found[user_id].append(name)
    return found


def slack_webhook(team_names: list[str]) -> str | None:
    """The webhook of the first of ``team_names`` that still has one configured."""
    return next((settings.SLACK_WEBHOOKS[name] for name in team_names if name in settings.SLACK_WEBHOOKS), None)


def channels_for(person, preference: NotificationPreference, slack_teams: list[str], event: str) -> list[str]:
    """The outbox channels ``person`` gets a message about ``event`` on now: none while they take
    their news in a digest (see ``wants_immediately``)."""
    if not wants_immediately(preference, event):
        return []
    channels = []
    if preference.email and person.email:
        channels.append(NotificationChannel.EMAIL)
    if preference.slack and slack_teams:
        channels.append(NotificationChannel.SLACK)
    return channels


def time_zone_of(preference: NotificationPreference) -> zoneinfo.ZoneInfo:
    """The person's zone; the site's when theirs is no longer known (a zone valid when saved can
    leave a later tz database): raising here would stop every drain at their message."""
    try:
        return zoneinfo.ZoneInfo(preference.time_zone or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def quiet_hours_end(preference: NotificationPreference, now: datetime.datetime) -> datetime.datetime | None:
    """When the quiet hours ``now`` falls in end (an aware datetime), or None when ``now`` is not
    quiet. Hours may span midnight (22:00–07:00); ``quiet_from`` is quiet, ``quiet_until`` is not."""
    start, end = preference.quiet_from, preference.quiet_until
    if start is None or end is None or start == end:
        return None
    zone = time_zone_of(preference)
    local = now.astimezone(zone)
    at = local.time().replace(tzinfo=None)
    if start < end:
        if not (start <= at < end):
            return None
        day = local.date()
    elif at >= start:  # the evening part of hours spanning midnight: they end tomorrow
        day = local.date() + datetime.timedelta(days=1)
    elif at < end:  # the morning part
        day = local.date()
    else:
        return None
    until = datetime.datetime.combine(day, end, tzinfo=zone)
    # A wall-clock time skipped by a daylight-saving change still maps to an instant; never earlier than now.
    return max(until, now + datetime.timedelta(seconds=1))
