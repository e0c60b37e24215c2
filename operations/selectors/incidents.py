"""Incidents judged against the launch's severity policy, and its rollbacks executed, each in a fixed
number of queries however many incidents, people or rollbacks a launch has."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from raci.checklist_items import people_to_notify
from raci.models import RaciAssignment, ResponsibilityArea, Stakeholder
from readiness.models import Launch, SeverityLevel, minutes_label

from ..checklist_items.incidents import INCIDENTS, has_postmortem, incidents_with_postmortems, postmortem_overdue
from ..models import (
    POSTMORTEM_DUE_DAYS,
    ActionItem,
    Incident,
    PostMortem,
    RollbackExecution,
)


class BreachKind:
    NO_POLICY = "no_policy"
    LATE = "late"
    NOT_NOTIFIED = "not_notified"
    NO_POSTMORTEM = "no_postmortem"


@dataclass(frozen=True)
class Breach:
    kind: str
    message: str


@dataclass
class IncidentReview:
    """An incident with what its severity level asks and where it fell short."""

    incident: Incident
    level: SeverityLevel | None
    pages: list[Stakeholder] = field(default_factory=list)  # whom the level pages through the RACI
    breaches: list[Breach] = field(default_factory=list)

    @property
    def breached(self) -> bool:
        return bool(self.breaches)

    @property
    def postmortem(self):
        return self.incident.postmortem if has_postmortem(self.incident) else None


def _incidents(launch_id: int):
    return (
        Incident.objects.filter(launch_id=launch_id)
        .select_related("reported_by", "postmortem__written_by")
        .prefetch_related(
            Prefetch("responders", queryset=Stakeholder.objects.select_related("user")),
            Prefetch("notified", queryset=Stakeholder.objects.select_related("user")),
            Prefetch(
                "postmortem__action_items",
                queryset=ActionItem.objects.select_related("owner__user", "completed_by"),
            ),
        )
    )


def _areas(launch_id: int) -> list[ResponsibilityArea]:
    assignments = RaciAssignment.objects.select_related("stakeholder__user").order_by("role", "pk")
    return list(
        ResponsibilityArea.objects.filter(launch_id=launch_id)
        .order_by("pk")
        .prefetch_related(Prefetch("assignments", queryset=assignments))
    )


def paged_people(level: SeverityLevel, areas: list[ResponsibilityArea]) -> list[Stakeholder]:
    """Everyone ``level`` pages on the launch, once each (as "Incident owners" resolves it)."""
    people: dict[int, Stakeholder] = {}
    for area_people in people_to_notify(level, areas).values():
        for person in area_people:
            people.setdefault(person.pk, person)
    return sorted(people.values(), key=lambda person: person.display_name)


def incident_breaches(
    incident: Incident,
    level: SeverityLevel | None,
    pages: list[Stakeholder],
    now: datetime.datetime,
) -> list[Breach]:
    """Where ``incident`` fell short of its severity level: answered late (or not yet, past the
    level's time), someone the level pages was not notified, no post-mortem for a resolved P0/P1."""
    breaches = []
    if level is None:
        breaches.append(
            Breach(
                BreachKind.NO_POLICY,
                _("The severity policy has no level %(level)s.") % {"level": incident.severity},
            )
        )
    elif level.response_minutes is not None:
        allowed = datetime.timedelta(minutes=level.response_minutes)
        limit = minutes_label(level.response_minutes)
        if incident.acknowledged_at is not None and incident.acknowledged_at - incident.detected_at > allowed:
            taken = incident.acknowledged_at - incident.detected_at
            breaches.append(
                Breach(
                    BreachKind.LATE,
                    _("Acknowledged after %(taken)s min; %(level)s must be answered within %(limit)s.")
                    % {"taken": int(taken.total_seconds() // 60), "level": level.level, "limit": limit},
                )
            )
        elif incident.acknowledged_at is None and now - incident.detected_at > allowed:
            breaches.append(
                Breach(
                    BreachKind.LATE,
                    _("Not acknowledged, and %(level)s must be answered within %(limit)s.")
                    % {"level": level.level, "limit": limit},
                )
            )
    notified = {person.pk for person in incident.notified.all()}
    missing = [person for person in pages if person.pk not in notified]
    if missing:
        breaches.append(
            Breach(
                BreachKind.NOT_NOTIFIED,
                _("Not notified, though %(level)s pages them: %(names)s.")
                % {"level": incident.severity, "names": ", ".join(person.display_name for person in missing)},
            )
        )
    if incident.is_major and incident.resolved_at is not None and not has_postmortem(incident):
        if postmortem_overdue(incident, now):
            message = _("No post-mortem, %(days)s days after it was resolved: overdue.")
        else:
            message = _("No post-mortem yet; due within %(days)s days of resolution.")
        breaches.append(Breach(BreachKind.NO_POSTMORTEM, message % {"days": POSTMORTEM_DUE_DAYS}))
    return breaches


def _prefetched(launch: Launch, name: str):
    cache = getattr(launch, "_prefetched_objects_cache", {})
    return list(cache[name]) if name in cache else None


def launch_incidents(*, launch: Launch, now: datetime.datetime | None = None) -> list[IncidentReview]:
    """Every incident of ``launch``, newest first, with its level, whom the level pages and its
    breaches. Six queries, whatever the number of incidents, people or areas; none when the launch
    comes with its checklist facts (``with_checklist_facts`` prefetches the incidents with their
    post-mortems and who was notified, the severity levels and the areas with their people)."""
    now = now or timezone.now()
    levels = _prefetched(launch, "severity_levels")
    if levels is None:
        levels = list(SeverityLevel.objects.filter(launch_id=launch.pk))
    levels = {level.level: level for level in levels}
    areas = _prefetched(launch, "areas")
    if areas is None:
        areas = _areas(launch.pk)
    pages = {code: paged_people(level, areas) for code, level in levels.items()}
    incidents = getattr(launch, INCIDENTS, None)
    if incidents is None:
        incidents = incidents_with_postmortems().queryset.filter(launch_id=launch.pk)
    incidents = sorted(incidents, key=lambda incident: (incident.detected_at, incident.pk), reverse=True)
    reviews = []
    for incident in incidents:
        level = levels.get(incident.severity)
        people = pages.get(incident.severity, [])
        reviews.append(IncidentReview(incident, level, people, incident_breaches(incident, level, people, now)))
    return reviews


def severity_pages(*, launch_id: int, severity: str) -> tuple[SeverityLevel | None, list[Stakeholder]]:
    """The launch's level for ``severity`` and everyone it pages through the RACI, once each
    (nobody when the policy has no such level). Three queries at most."""
    level = SeverityLevel.objects.filter(launch_id=launch_id, level=severity).first()
    return level, paged_people(level, _areas(launch_id)) if level else []


def incident_review(*, incident: Incident, now: datetime.datetime | None = None) -> IncidentReview:
    """One incident's review (for its own page), in the same fixed number of queries."""
    now = now or timezone.now()
    incident = _incidents(incident.launch_id).get(pk=incident.pk)
    level, people = severity_pages(launch_id=incident.launch_id, severity=incident.severity)
    return IncidentReview(incident, level, people, incident_breaches(incident, level, people, now))


def postmortems_of(incidents: list[Incident]) -> dict[int, PostMortem]:
    """The post-mortems of ``incidents`` with their action items and owners, by incident id (one
    query, plus one for the items when there are post-mortems)."""
    items = Prefetch("action_items", queryset=ActionItem.objects.select_related("owner__user"))
    postmortems = PostMortem.objects.filter(incident__in=[incident.pk for incident in incidents])
    return {pm.incident_id: pm for pm in postmortems.select_related("written_by").prefetch_related(items)}


def launch_rollbacks(*, launch: Launch) -> list[RollbackExecution]:
    """Rollbacks executed on ``launch``, newest first, in one query."""
    return list(RollbackExecution.objects.filter(launch_id=launch.pk).select_related("performed_by", "incident"))
