"""Recertification: every day, does the stage each launch is in still hold?

A launch entered its stage because the gate found every gating item passing and every sign-off
approved and fresh. Time and events undo that: approvals expire, evidence ages, a new version
goes into service, an audit or a rehearsal falls overdue, a review is missed, an incident is left
unreviewed, an SLO is breached. ``recertify`` judges each launch (not archived, in a stage)
against the stage it is *in*, with the gate's own rules: the checklist as registered, whatever
app registered the items (``evaluate_many(..., at_current_stage=True)``), so item 1 asks whether
the current stage's sign-offs still count and the stage's waivers still apply.

Why here, in ``approvals``: "does the stage still hold" is the gate's question asked again, and
its answer depends on sign-offs, waivers and the ledger, which ``approvals`` owns; notifying the
owner uses ``notifications``. ``operations`` contributes what happened in service as
checklist items (13, 14, item 11's missed reviews, and the SLO item), so it needs no hook: it
stays below, knowing nothing of ``approvals``.

What is recorded: the latest finding per launch in ``StageStanding`` (what the portfolio, the
launch page and the reports read), and each change between holding and not holding in the ledger
(``STAGE_LAPSED`` with the failing items' keys, ``STAGE_RESTORED``); the owner is told of a lapse
once per lapse. Entering a stage proves it held, so a launch first found failing after it entered
a stage (or after a move to another stage) lapses; one found holding records nothing in the ledger.
Running it again finds the same and records nothing new.

When: daily for every launch (time alone undoes a stage: approvals expire, evidence ages), and after
every change to a launch commits, for that launch (``readiness.evaluations.launches_refreshed``,
see ``approvals.signals``): an SLO breach recorded or a sign-off rejected shows at once."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ledger import chain
from ledger.events import LedgerEvent
from notifications.services import notify
from readiness.checklist import Readiness, evaluate_many, registry
from readiness.models import Launch

from .choices import NotificationEvent
from .models import StageStanding

BATCH = 200


class _Recertification:
    """The actor ledger entries name for the scheduled recertification. Brackets are not allowed
    in usernames, so no person can ever be mistaken for it."""

    username = "[recertification]"
    pk = None

    def get_username(self) -> str:
        return self.username


SYSTEM = _Recertification()


@dataclass(frozen=True)
class Change:
    """One launch whose stage stopped holding or holds again."""

    launch: str
    stage: str
    holds: bool
    reasons: tuple[str, ...]

    def line(self) -> str:
        if self.holds:
            return f"{self.launch}: {self.stage} holds again"
        return f"{self.launch}: {self.stage} no longer holds ({len(self.reasons)}: {', '.join(self.reasons)})"


def recertify(*, now: datetime.datetime | None = None, launch_ids: Iterable[int] | None = None) -> list[Change]:
    """Judge every launch that is in a stage and not archived (of ``launch_ids``, when given: the
    launches a change touched) against that stage; store what was found, ledger and announce the
    changes. Returns the changes. Each batch of launches costs a fixed number of queries plus a
    few per launch whose standing changed."""
    now = now or timezone.now()
    launches = Launch.objects.filter(archived=False, current_stage__isnull=False)
    if launch_ids is not None:
        launches = launches.filter(pk__in=sorted(set(launch_ids)))
    ids = list(launches.order_by("pk").values_list("pk", flat=True))
    changes: list[Change] = []
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        found = evaluate_many(Launch.objects.filter(pk__in=batch), now=now, at_current_stage=True)
        stored = {standing.launch_id: standing for standing in StageStanding.objects.filter(launch_id__in=batch)}
        unchanged = []
        for readiness in found:
            standing = stored.get(readiness.launch.pk)
            if _same(standing, readiness):
                unchanged.append(standing.pk)
            else:
                change = _record(readiness, now=now)
                if change is not None:
                    changes.append(change)
        # Derived rows without history: a plain update is the point (one query for the batch).
        StageStanding.objects.filter(pk__in=unchanged).update(checked_at=now)
    return changes


def lapse_reasons(readiness: Readiness) -> list[str]:
    """Keys of the current stage's gating items that fail now, in checklist order."""
    return [result.key for result in readiness.blockers]


def _same(standing: StageStanding | None, readiness: Readiness) -> bool:
    return (
        standing is not None
        and standing.stage_id == readiness.stage.pk
        and standing.holds == (not readiness.blockers)
        and standing.reasons == lapse_reasons(readiness)
    )


@transaction.atomic
def _record(readiness: Readiness, *, now: datetime.datetime) -> Change | None:
    """Store what was found for one launch; on a change between holding and not, ledger it and,
    on a lapse, tell the owner. Under the launch's lock (the gate takes the same), re-reading the
    standing, so two runs at once record one change."""
    launch = (
        Launch.objects.select_for_update(of=("self",), no_key=True).select_related("owner").get(pk=readiness.launch.pk)
    )
    stage = readiness.stage
    if launch.current_stage_id != stage.pk or launch.archived:
        return None  # moved or archived since the evaluation: the next run judges it afresh
    standing = StageStanding.objects.filter(launch=launch).first()
    reasons = lapse_reasons(readiness)
    holds = not reasons
    # Entering a stage proves it held: a standing of another stage says nothing about this one.
    held = standing.holds if standing is not None and standing.stage_id == stage.pk else True
    if standing is None:
        standing = StageStanding(launch=launch)
    if standing.stage_id != stage.pk or standing.holds != holds:
        standing.since = now
    standing.stage, standing.holds, standing.reasons, standing.checked_at = stage, holds, reasons, now
    standing.save()
    if held == holds:
        return None
    if holds:
        chain.append(event=LedgerEvent.STAGE_RESTORED, launch=launch, actor=SYSTEM, payload={"stage": stage.name})
    else:
        entry = chain.append(
            event=LedgerEvent.STAGE_LAPSED,
            launch=launch,
            actor=SYSTEM,
            payload={"stage": stage.name, "reasons": reasons},
        )
        notify(
            event=NotificationEvent.STAGE_LAPSED,
            key=f"lapsed:{launch.pk}:{entry.sequence}",
            launch=launch,
            actor=None,
            recipients=[launch.owner],
            payload={"launch": launch.name, "stage": stage.name, "reasons": reasons, "count": len(reasons)},
            link=launch.get_absolute_url(),
        )
    return Change(launch.slug, stage.name, holds, tuple(reasons))


# Reading what was found (the portfolio, the launch page, the reports) ------------------------------


class Health(StrEnum):
    HOLDS = "holds"
    LAPSED = "lapsed"
    NOT_LAUNCHED = "not_launched"
    ARCHIVED = "archived"  # not judged any more: whatever was found last is history


HEALTH_CHOICES = [
    (Health.HOLDS, gettext_lazy("Holds")),
    (Health.LAPSED, gettext_lazy("No longer holds")),
    (Health.NOT_LAUNCHED, gettext_lazy("Not launched")),
]


@dataclass(frozen=True)
class LapseReason:
    key: str
    number: int
    title: str


@dataclass(frozen=True)
class StageHealth:
    """How the stage a launch is in stands, as the last recertification found it. A launch in a
    stage the recertification has not judged yet holds: the gate found it holding on entry."""

    state: Health
    stage: object | None = None
    reasons: tuple[LapseReason, ...] = ()
    checked_at: datetime.datetime | None = None
    since: datetime.datetime | None = None

    @property
    def lapsed(self) -> bool:
        return self.state == Health.LAPSED

    @property
    def label(self) -> str:
        if self.state == Health.NOT_LAUNCHED:
            return _("not launched")
        if self.state == Health.ARCHIVED:
            return _("archived")
        if self.state == Health.HOLDS:
            return _("holds")
        count = len(self.reasons)
        return ngettext("no longer holds: %(count)s reason", "no longer holds: %(count)s reasons", count) % {
            "count": count
        }


def stage_health(launch) -> StageHealth:
    """What the last recertification found for ``launch``; reads ``launch.stage_standing`` (no
    query when the caller selected it with ``select_related("stage_standing")``) and the current
    stage (``select_related("current_stage")``)."""
    if launch.current_stage_id is None:
        return StageHealth(Health.NOT_LAUNCHED)
    if launch.archived:
        return StageHealth(Health.ARCHIVED, launch.current_stage)
    try:
        standing = launch.stage_standing
    except StageStanding.DoesNotExist:
        standing = None
    stage = launch.current_stage
    if standing is None or standing.stage_id != launch.current_stage_id:
        return StageHealth(Health.HOLDS, stage)  # entered since the last run: the gate proved it held
    reasons = tuple(_reason(key) for key in standing.reasons)
    state = Health.HOLDS if standing.holds else Health.LAPSED
    return StageHealth(state, stage, reasons, standing.checked_at, standing.since)


def _reason(key: str) -> LapseReason:
    if key in registry:
        check = registry.get(key)
        return LapseReason(key, check.number, check.title)
    return LapseReason(key, 0, key)  # an item no longer registered: named by its key


def lapsed_filter() -> Q:
    """Launches whose current stage the last recertification found not holding (for a queryset of launches)."""
    return Q(stage_standing__holds=False, stage_standing__stage=F("current_stage"), current_stage__isnull=False)


def filter_by_health(queryset, health: str):
    """Launches of ``queryset`` in ``health`` as ``stage_health`` says it (archived ones are never
    lapsed nor holding: they are not judged any more)."""
    if health == Health.NOT_LAUNCHED:
        return queryset.filter(current_stage__isnull=True)
    if health == Health.LAPSED:
        return queryset.filter(lapsed_filter(), archived=False)
    if health == Health.HOLDS:
        return queryset.filter(current_stage__isnull=False, archived=False).exclude(lapsed_filter())
    return queryset
