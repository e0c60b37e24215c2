"""Quality bars and SLOs waiting for agreement, and telling whoever alone may agree them: the
Accountable of the area owning the bar's metric or the SLO's concern, who serves a function that
answers for it, never the launch owner (the rule of ``raci.services.quality_bar_agree`` and
``slo_agree``). Told once per fact and definition: agreeing later makes the approvals given
meanwhile stale, so the sooner they know, the better.

Whatever write makes a fact wait (a bar added or redefined, an SLO changed, an Accountable named,
a concern moved), the launch is looked at once after the transaction commits."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Prefetch

from ledger.chain import canonical_json
from notifications.services import notify
from raci.choices import Role
from raci.models import RaciAssignment, ResponsibilityArea
from raci.selectors import bar_functions, owning_area, serves_any, slo_functions, slo_owning_area
from readiness.models import SLO, Launch, QualityBar
from readiness.people import person_name
from readiness.services.facts import bar_definition, slo_definition

from .choices import NotificationEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Waiting:
    """One quality bar (``kind`` "qualitybar") or SLO ("slo") nobody has agreed yet, the area
    owning it and the people who may agree it."""

    launch: Launch
    kind: str
    fact: object
    area: object
    people: tuple  # users

    @property
    def what(self) -> str:
        return self.fact.metric if self.kind == "qualitybar" else self.fact.get_indicator_display()

    @property
    def names(self) -> str:
        return ", ".join(person_name(person) for person in self.people)

    @property
    def definition(self) -> dict:
        return bar_definition(self.fact) if self.kind == "qualitybar" else slo_definition(self.fact)


def launches_for_agreements(queryset):
    """``queryset`` of launches with what ``waiting_agreements`` reads: a fixed number of queries."""
    assignments = RaciAssignment.objects.select_related("stakeholder__user").prefetch_related("stakeholder__teams")
    return queryset.prefetch_related(
        Prefetch(
            "areas",
            queryset=ResponsibilityArea.objects.order_by("pk").prefetch_related(
                Prefetch("assignments", queryset=assignments)
            ),
        ),
        Prefetch("quality_bars", queryset=QualityBar.objects.filter(agreed_by__isnull=True).order_by("pk")),
        Prefetch("slos", queryset=SLO.objects.filter(agreed_by__isnull=True).order_by("pk")),
    )


def waiting_agreements(launch: Launch) -> list[Waiting]:
    """The launch's bars and SLOs not agreed yet (from ``launches_for_agreements``), each with whom it waits for."""
    areas = list(launch.areas.all())
    waiting = []
    facts = [
        ("qualitybar", bar, owning_area(areas, bar.metric), bar_functions(bar.metric))
        for bar in launch.quality_bars.all()
    ]
    facts += [
        ("slo", slo, slo_owning_area(areas, slo.indicator), slo_functions(slo.indicator)) for slo in launch.slos.all()
    ]
    for kind, fact, area, functions in facts:
        if getattr(fact, "agreed_by_id", None) is not None:
            continue
        people = tuple(
            a.stakeholder.user
            for a in (area.assignments.all() if area else [])
            if a.role == Role.ACCOUNTABLE
            and a.stakeholder.user_id != launch.owner_id
            and serves_any(a.stakeholder, functions)
        )
        waiting.append(Waiting(launch, kind, fact, area, people))
    return waiting


def tell_waiting_agreements(launch_id: int) -> list:
    """Tell each Accountable what waits for their agreement on the launch, once per fact and
    definition (a redefined bar waits anew). Returns the people newly told."""
    launch = launches_for_agreements(Launch.objects.filter(pk=launch_id, archived=False)).first()
    if launch is None:
        return []
    told = []
    for item in waiting_agreements(launch):
        if not item.people:
            continue
        digest = hashlib.sha256(canonical_json(item.definition).encode()).hexdigest()[:24]
        told += notify(
            event=NotificationEvent.AGREEMENT_WAITING,
            key=f"{item.kind}:{item.fact.pk}:{digest}",
            launch=launch,
            actor=None,
            recipients=list(item.people),
            payload={
                "launch": launch.name,
                "kind": item.kind,
                "what": item.fact.metric if item.kind == "qualitybar" else item.fact.indicator,
                "area": item.area.name,
            },
            link=f"{launch.get_absolute_url()}#facts-{item.kind}",
        )
    return told


class _TellAfterCommit:
    """One look per launch per transaction, however many of its rows were written."""

    def __init__(self, launch_id: int) -> None:
        self.launch_id = launch_id

    def __call__(self) -> None:
        with transaction.atomic():
            tell_waiting_agreements(self.launch_id)


def look_after_commit(launch_id: int | None) -> None:
    """Look at the launch for agreements waiting once the transaction commits."""
    if launch_id is None:
        return
    # Already queued in this very savepoint (a service saving several rows of the launch): once
    # is enough. One queued in an outer savepoint is not relied on: an inner rollback keeps it,
    # but a caller capturing callbacks (tests) runs only those queued since it started.
    if connection.in_atomic_block:
        scope = set(connection.savepoint_ids)
        for sids, func, *_robust in connection.run_on_commit:
            if isinstance(func, _TellAfterCommit) and func.launch_id == launch_id and sids == scope:
                return
    # Robust: a notice that cannot be written is logged, never an error for the saved change.
    transaction.on_commit(_TellAfterCommit(launch_id), robust=True)
