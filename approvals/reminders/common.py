"""What every sweep shares: what was sent, telling people once, which approvals count, dates."""

from __future__ import annotations

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from notifications import events
from notifications.audience import seeing
from notifications.models import Notification
from notifications.services import notify
from raci.choices import TeamFunction
from raci.models import Team
from readiness.people import person_name

from ..choices import DecisionOutcome, NotificationEvent, RequestStatus
from ..models import SignoffDecision, SignoffRequest

# Requests an approval may stand on: open, and not held by an objection.
STANDING = (RequestStatus.PENDING, RequestStatus.APPROVED)


@dataclass(frozen=True)
class Sent:
    """One person newly told one thing."""

    kind: str  # the NotificationEvent
    launch: str | None  # its name
    recipient: object  # the user
    key: str
    detail: str = ""  # a few words for the operator, in English (``manage.py send_reminders``)

    def line(self) -> str:
        label = {
            NotificationEvent.SIGNOFF_STALE: "stale",
            NotificationEvent.SIGNOFF_OVERDUE: "overdue",
            NotificationEvent.SIGNOFF_ESCALATED: "escalated",
            NotificationEvent.SIGNOFF_EXPIRING: "expiring",
            NotificationEvent.FACT_EXPIRING: "expiring",
            NotificationEvent.DIGEST: "digest",
        }.get(self.kind, self.kind)
        where = f"{self.launch}: " if self.launch else ""
        return f"{label} → {person_name(self.recipient)}: {where}{self.detail}".rstrip(": ")


def tell(
    *,
    event: str,
    key: str,
    launch,
    recipients: Iterable,
    payload: dict,
    link: str,
    detail: str,
    told: set[int] | None = None,
) -> list[Sent]:
    """``notify`` the active ``recipients`` not yet told about (event, key) (``told``, when the
    caller already knows) who still see ``launch``: sweeps find people in history (who approved,
    who decided a waiver), and one taken off the launch since is not told about it (but some
    events reach them blind: ``notifications.events``). What was newly sent. One savepoint: all
    of it or, when another run told them meanwhile, nothing."""
    people = {person.pk: person for person in recipients if person is not None and person.is_active}
    if not people:
        return []
    if told is None:
        told = set(
            Notification.objects.filter(event=event, key=key, recipient__in=list(people)).values_list(
                "recipient_id", flat=True
            )
        )
    fresh = {pk: person for pk, person in people.items() if pk not in told}
    # Never someone taken off the launch since (one query, only when someone is new to tell);
    # escalations reach them blind (``notifications.audience``).
    if fresh and launch is not None and event not in events.told_without_seeing():
        sees = seeing(launch, fresh.values())
        fresh = {pk: person for pk, person in fresh.items() if pk in sees}
    fresh = [person for _pk, person in sorted(fresh.items())]
    if not fresh:
        return []
    try:
        with transaction.atomic():
            notify(event=event, key=key, launch=launch, actor=None, recipients=fresh, payload=payload, link=link)
    except IntegrityError:
        return []
    name = launch.name if launch is not None else None
    return [Sent(event, name, person, key, detail) for person in fresh]


def not_entered(prefix: str = "request__") -> Q:
    """The request's stage is after the launch's current stage (or the launch is in planning)."""
    launch = f"{prefix}launch__"
    return Q(**{f"{launch}current_stage__isnull": True}) | Q(
        **{f"{prefix}stage__order__gt": F(f"{launch}current_stage__order")}
    )


def standing_approvals():
    return SignoffDecision.objects.filter(
        not_entered(),
        outcome=DecisionOutcome.APPROVE,
        superseded_at__isnull=True,
        request__status__in=STANDING,
        request__launch__archived=False,
    ).select_related("request__launch__owner", "request__stage", "decided_by", "on_behalf_of")


def request_names(request: SignoffRequest) -> dict:
    return {"launch": request.launch.name, "stage": request.stage.name, "function": request.function}


def request_words(request: SignoffRequest) -> str:
    return f"{TeamFunction(request.function).label} sign-off for {request.stage.name}"


def local_date(moment: datetime.datetime, zone: str | None = None) -> datetime.date:
    try:
        tz = zoneinfo.ZoneInfo(zone or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return moment.astimezone(tz).date()


def leads_by_function() -> dict[str, list]:
    """Function → the leads of its teams who are still members, in one query."""
    found = defaultdict(list)
    for team in Team.objects.filter(members=F("lead"), lead__user__is_active=True).select_related("lead__user"):
        if team.lead.user not in found[team.function]:
            found[team.function].append(team.lead.user)
    return found
