"""How each person wants to be told: the rules the outbox applies, in one place.

- Which channels: those they left on that can reach them now (each channel's ``reachable``: e-mail
  when they have an address, Slack when one of their teams has a webhook); ``recipient_channels``.
- When: at once, or held for the daily digest (``wants_immediately``); in-app notices are always
  written at once, whatever the preference.
- Quiet hours: nothing is sent while they last, in the person's time zone (``quiet_hours_end``).

- News of other people's launches: as it happens, in the digest, or only on the notifications page
  (``others``; ``notifications.notices`` applies it when it writes a notice).

No preference row means the defaults: e-mail and Slack on, at once, no quiet hours, news of other
people's launches in the daily digest."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterable

from django.conf import settings

from . import channels, events
from .choices import DeliveryMode, OthersMode
from .models import NotificationPreference

DEFAULTS = NotificationPreference(email=True, slack=True, mode=DeliveryMode.IMMEDIATE, others=OthersMode.DIGEST)


def wants_immediately(preference: NotificationPreference | None, event: str) -> bool:
    """Whether a message about ``event`` goes out now (True) or waits for the person's daily
    digest (False). Events registered as never held (the digest itself, delivery failures: they
    must be acted on today, not tomorrow) always go at once."""
    preference = preference or DEFAULTS
    return preference.mode != DeliveryMode.DIGEST or not events.held_for_digest(event)


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
    return NotificationPreference(
        user=user, email=True, slack=True, mode=DeliveryMode.IMMEDIATE, others=OthersMode.DIGEST
    )


def recipient_channels(
    event: str, people: Iterable, *, preferences: dict[int, NotificationPreference] | None = None
) -> dict[int, list[str]]:
    """By person id, the channels each of the active ``people`` wants a message about ``event`` on
    now: none while they take their news in a digest. One query for the preferences (none when the
    caller read them) and at most one per channel, however many people."""
    people = [person for person in people if person.is_active]
    if not people:
        return {}
    if preferences is None:
        preferences = preferences_of(people)
    immediate = [person for person in people if wants_immediately(preferences[person.pk], event)]
    reached = {channel.name: channel.reachable(immediate, preferences) for channel in channels.all_channels()}
    return {person.pk: [name for name, ids in reached.items() if person.pk in ids] for person in people}


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
