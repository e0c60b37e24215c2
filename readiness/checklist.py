"""The organisational launch checklist: a registry of checks evaluated from a launch's facts.

Each app registers the checks it knows how to evaluate from its ``AppConfig.ready()``, together
with the related rows the check reads. ``with_checklist_facts`` loads all of them for any number
of launches in a fixed number of queries, so evaluation itself never touches the database.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    WAIVED = "waived"  # failing, but accepted for this stage by an approved, unexpired waiver


@dataclass(frozen=True)
class Outcome:
    """What a check function returns: a status and reasons a PM can act on."""

    status: Status
    reasons: tuple[str, ...] = ()

    @classmethod
    def passed(cls, *reasons: str) -> Outcome:
        return cls(Status.PASS, reasons)

    @classmethod
    def failed(cls, *reasons: str) -> Outcome:
        return cls(Status.FAIL, reasons)

    @classmethod
    def not_applicable(cls, *reasons: str) -> Outcome:
        return cls(Status.NOT_APPLICABLE, reasons)

    @classmethod
    def from_problems(cls, problems: list[str], success: str) -> Outcome:
        return cls.failed(*problems) if problems else cls.passed(success)


@dataclass(frozen=True)
class Context:
    """Everything a check may read: the launch (with its facts prefetched), the stage being
    entered and the date the evaluation is made on."""

    launch: object
    stage: object | None
    today: datetime.date
    now: datetime.datetime


@dataclass(frozen=True)
class Check:
    key: str
    number: int
    title: str
    evaluate: Callable[[Context], Outcome]
    select: tuple[str, ...] = ()
    prefetch: tuple[str | Prefetch | Callable[[], Prefetch], ...] = ()
    gates_every_stage: bool = False


@dataclass(frozen=True)
class Contribution:
    problems: Callable[[Context], list[str]]
    prefetch: tuple = ()


WaiverSource = Callable[[Context], dict[str, str]]
Preparer = Callable[[list[Context]], None]


class CheckRegistry:
    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}
        self._waiver_sources: list[WaiverSource] = []
        self._preparers: list[Preparer] = []
        self._contributions: dict[str, list[Contribution]] = {}

    def register_waiver_source(self, source: WaiverSource) -> None:
        """``source(context)`` returns {check key: note} for items waived when entering the stage."""
        if source not in self._waiver_sources:
            self._waiver_sources.append(source)

    def register_preparer(self, preparer: Preparer) -> None:
        """``preparer(contexts)`` loads, for all the launches about to be evaluated at once, what
        the prefetches leave out because only some rows need it (in one query, not one per launch)."""
        if preparer not in self._preparers:
            self._preparers.append(preparer)

    def prepare(self, contexts: list[Context]) -> None:
        for preparer in self._preparers:
            preparer(contexts)

    def waivers(self, context: Context) -> dict[str, str]:
        waived: dict[str, str] = {}
        for source in self._waiver_sources:
            waived.update(source(context))
        return waived

    def contribute(self, key: str, problems: Callable[[Context], list[str]], *, prefetch: Iterable = ()) -> None:
        """Let another app add to an item it does not own: ``problems(context)`` returns what else
        fails the item (e.g. operations: a feedback channel whose reviews were missed fails
        "Feedback loop", which readiness registers without knowing of reviews). An item that
        passed fails with these problems; one that failed keeps its reasons and gains these; one
        that does not apply is left alone."""
        contributions = self._contributions.setdefault(key, [])
        if all(existing.problems is not problems for existing in contributions):
            contributions.append(Contribution(problems, tuple(prefetch)))

    def contributed_problems(self, key: str, context: Context) -> list[str]:
        return [problem for c in self._contributions.get(key, ()) for problem in c.problems(context)]

    def register(
        self,
        key: str,
        *,
        number: int,
        title: str,
        select: Iterable[str] = (),
        prefetch: Iterable[str | Prefetch | Callable[[], Prefetch]] = (),
        gates_every_stage: bool = False,
    ) -> Callable[[Callable[[Context], Outcome]], Callable[[Context], Outcome]]:
        """Decorator registering ``fn(context) -> Outcome`` as checklist item ``key``.

        ``prefetch`` takes lookup strings, ``Prefetch`` objects or zero-argument callables
        returning one. ``gates_every_stage`` makes the item gate every stage whatever the stage's
        own list says (sign-offs: no configuration may take them out of the gate)."""

        if key in self._checks:
            raise ValueError(f"Checklist item '{key}' is already registered; keys must be unique.")
        if any(check.number == number for check in self._checks.values()):
            raise ValueError(f"Checklist number {number} is already taken; numbers must be unique.")

        def decorator(fn: Callable[[Context], Outcome]) -> Callable[[Context], Outcome]:
            self._checks[key] = Check(key, number, title, fn, tuple(select), tuple(prefetch), gates_every_stage)
            return fn

        return decorator

    def __contains__(self, key: str) -> bool:
        return key in self._checks

    def get(self, key: str) -> Check:
        return self._checks[key]

    def all(self) -> list[Check]:
        return sorted(self._checks.values(), key=lambda check: check.number)

    def keys(self) -> list[str]:
        return [check.key for check in self.all()]

    def apply_related(self, queryset: QuerySet) -> QuerySet:
        selects: list[str] = []
        prefetches: dict[str, str | Prefetch] = {}
        for check in self.all():
            selects.extend(s for s in check.select if s not in selects)
            extra = [lookup for c in self._contributions.get(check.key, ()) for lookup in c.prefetch]
            for lookup in (*check.prefetch, *extra):
                resolved = lookup if isinstance(lookup, (str, Prefetch)) else lookup()
                key = resolved if isinstance(resolved, str) else resolved.prefetch_to
                prefetches.setdefault(key, resolved)
        return queryset.select_related(*selects).prefetch_related(*prefetches.values())


registry = CheckRegistry()
register = registry.register

# Which checklist items must pass to enter a stage of each kind. A stage can override this with
# its own ``gating_checks``; a custom stage without its own list is gated by every item.
DEFAULT_STAGE_CHECKS: dict[str, tuple[str, ...]] = {
    "internal": (
        "stakeholders_approved",
        "failure_rate_agreed",
        "raci_defined",
        "data_classified",
        "pii_policy",
        # Registered by operations: not applicable in planning, so it gates a stage entered from
        # another one (an Internal stage after an Internal stage, a custom stage, ...).
        "operating_within_slos",
    ),
    "beta": (
        "stakeholders_approved",
        "failure_rate_agreed",
        "raci_defined",
        "incident_owner",
        "data_classified",
        "pii_policy",
        "slos_defined",
        "monitoring_dashboard",
        "rollback_plan",
        "incident_runbook",
        "feedback_loop",
        "quality_evidence",
        "operating_within_slos",
    ),
}


def exposure_kind(exposure_percent) -> str:
    """The least strict kind a stage of this exposure may be gated as: above the Internal limit at
    least Beta, above the Beta limit (and at 100 %) Full."""
    if exposure_percent is None or exposure_percent <= settings.INTERNAL_MAX_EXPOSURE_PERCENT:
        return "internal"
    if exposure_percent <= settings.BETA_MAX_EXPOSURE_PERCENT:
        return "beta"
    return "full"


_STRICTNESS = {"internal": 0, "beta": 1, "full": 2}


def minimum_gating_checks(kind: str, exposure_percent=None) -> list[str]:
    """What a stage of ``kind`` and ``exposure_percent`` is gated by at least, whatever its own list
    says: its kind's defaults (a Full stage: every item; a custom stage: what Internal needs),
    raised to those of the kind its exposure calls for."""
    floor = kind if kind in _STRICTNESS else "internal"
    floor = max(floor, exposure_kind(exposure_percent), key=_STRICTNESS.__getitem__)
    if floor == "full":
        return registry.keys()
    chosen = set(DEFAULT_STAGE_CHECKS[floor])
    return [key for key in registry.keys() if key in chosen]


def gating_checks_for(stage) -> list[str]:
    """Keys of the items that must pass to enter ``stage``, in checklist order."""
    if stage is None:
        return registry.keys()
    if stage.gating_checks:
        # Never below what the stage's kind and exposure require, even for a list stored earlier.
        chosen = set(stage.gating_checks) | set(minimum_gating_checks(stage.kind, stage.exposure_percent))
    elif stage.kind in DEFAULT_STAGE_CHECKS:
        chosen = set(minimum_gating_checks(stage.kind, stage.exposure_percent))
    else:
        return registry.keys()
    return [check.key for check in registry.all() if check.key in chosen or check.gates_every_stage]


@dataclass(frozen=True)
class CheckResult:
    key: str
    number: int
    title: str
    status: Status
    reasons: tuple[str, ...]
    gating: bool

    @property
    def blocks(self) -> bool:
        return self.gating and self.status == Status.FAIL

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "number": self.number,
            "title": str(self.title),
            "status": str(self.status),
            "gating": self.gating,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Readiness:
    """Whether ``launch`` may enter ``stage`` now. ``ignore_order`` evaluates a stage as if it were
    the next one (a what-if); the gate never sets it."""

    launch: object
    stage: object | None
    results: list[CheckResult] = field(default_factory=list)
    ignore_order: bool = False

    @property
    def blockers(self) -> list[CheckResult]:
        return [result for result in self.results if result.blocks]

    @property
    def refusals(self) -> list[str]:
        """Reasons outside the checklist that keep the launch out of the stage. The rollout order
        is decided here and only here: the stage gate and the ``readiness`` command both ask."""
        reasons = []
        if self.launch.archived:
            reasons.append(_("The launch is archived."))
        if self.stage is None:
            reasons.append(self._nothing_to_enter())
        elif not self.ignore_order and (out_of_order := self._out_of_order()):
            reasons.append(out_of_order)
        if self.stage is not None and self.stage.is_proposed("exposure_percent"):
            reasons.append(
                _("%(stage)s's exposure (%(exposure)s %%) is proposed by the template, not yet confirmed.")
                % {"stage": self.stage.name, "exposure": f"{self.stage.exposure_percent.normalize():f}"}
            )
        return reasons

    def _current_stage(self):
        # From the prefetched stages, so asking costs no query.
        return next((s for s in self.launch.ordered_stages() if s.pk == self.launch.current_stage_id), None)

    def _nothing_to_enter(self) -> str:
        current = self._current_stage()
        if current is not None:
            return _("The launch is in its final stage, %(stage)s: there is no stage to enter.") % {
                "stage": current.name
            }
        return _("The launch has no stage to enter.")

    def _out_of_order(self) -> str | None:
        """Why ``stage`` is not the one to enter next, or None when it is."""
        stage, expected = self.stage, self.launch.next_stage()
        if expected is not None and stage.pk == expected.pk:
            return None
        if stage.launch_id != self.launch.pk:
            return _("%(stage)s is not a stage of this launch.") % {"stage": stage.name}
        current = self._current_stage()
        if current is not None and stage.order <= current.order:
            names = {"stage": stage.name, "current": current.name, "next": expected.name if expected else ""}
            if stage.pk == current.pk and expected:
                message = _(
                    "%(stage)s is not the next stage: it is the current stage (the next one is %(next)s); "
                    "to go back, roll back instead."
                )
            elif stage.pk == current.pk:
                message = _(
                    "%(stage)s is not the next stage: it is the current stage (%(current)s is the final stage); "
                    "to go back, roll back instead."
                )
            elif expected:
                message = _(
                    "%(stage)s is not the next stage: it is before the current stage, %(current)s "
                    "(the next one is %(next)s); to go back, roll back instead."
                )
            else:
                message = _(
                    "%(stage)s is not the next stage: it is before the current stage, %(current)s "
                    "(%(current)s is the final stage); to go back, roll back instead."
                )
            return message % names
        if expected is None:
            return _("%(stage)s is not the next stage: there is no stage to enter.") % {"stage": stage.name}
        return _("%(stage)s is not the next stage; stages are entered in order and the next one is %(next)s.") % {
            "stage": stage.name,
            "next": expected.name,
        }

    @property
    def passed(self) -> int:
        """Items not failing (passed, waived or not applicable), for "N of M items pass"."""
        return sum(result.status != Status.FAIL for result in self.results)

    @property
    def may_enter(self) -> bool:
        return not self.refusals and not self.blockers

    def as_dict(self) -> dict:
        return {
            "launch": self.launch.slug,
            "stage": self.stage.name if self.stage else None,
            "may_enter": self.may_enter,
            "what_if": self.ignore_order,
            "blockers": [result.key for result in self.blockers],
            "refusals": self.refusals,
            "items": [result.as_dict() for result in self.results],
        }


def with_checklist_facts(queryset: QuerySet) -> QuerySet:
    """The launches of ``queryset`` with every fact the registered checks read, in a fixed number
    of queries however many launches, areas, people or assets there are."""
    return registry.apply_related(queryset.select_related("current_stage").prefetch_related("stages"))


def evaluate(launch, stage=None, *, now: datetime.datetime | None = None, ignore_order: bool = False) -> Readiness:
    """Evaluate every registered check for entering ``stage`` (default: the launch's next stage).
    With ``ignore_order`` a stage that is not the next one is judged on its checklist alone.

    ``launch`` should come from ``with_checklist_facts``; otherwise each check queries lazily."""
    now = now or timezone.now()
    stage = stage if stage is not None else launch.next_stage()
    context = Context(launch=launch, stage=stage, today=timezone.localdate(now), now=now)
    registry.prepare([context])
    return _evaluate(context, ignore_order=ignore_order)


def _evaluate(context: Context, *, ignore_order: bool = False) -> Readiness:
    launch, stage = context.launch, context.stage
    gating = set(gating_checks_for(stage))
    waived = registry.waivers(context) if stage is not None else {}
    results = []
    for check in registry.all():
        outcome = check.evaluate(context)
        status, reasons = outcome.status, outcome.reasons
        if status != Status.NOT_APPLICABLE and (more := registry.contributed_problems(check.key, context)):
            status, reasons = Status.FAIL, (*(reasons if status == Status.FAIL else ()), *more)
        if status == Status.FAIL and check.key in waived:
            status, reasons = Status.WAIVED, (*reasons, waived[check.key])
        results.append(CheckResult(check.key, check.number, check.title, status, reasons, check.key in gating))
    return Readiness(launch=launch, stage=stage, results=results, ignore_order=ignore_order)


def evaluate_many(
    launches: QuerySet, *, now: datetime.datetime | None = None, at_current_stage: bool = False
) -> list[Readiness]:
    """Evaluate each launch of ``launches`` for its next stage, in a bounded number of queries.

    With ``at_current_stage``, each launch is judged for the stage it is *in* (as if entering it
    now, order ignored): whether the stage it entered still holds. A launch in no stage is judged
    for nothing (``stage`` None, item 1 not applicable)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    contexts = [
        Context(
            launch=launch,
            stage=current_stage_of(launch) if at_current_stage else launch.next_stage(),
            today=today,
            now=now,
        )
        for launch in with_checklist_facts(launches)
    ]
    registry.prepare(contexts)
    return [_evaluate(context, ignore_order=at_current_stage) for context in contexts]


def current_stage_of(launch):
    """The stage ``launch`` is in, from its prefetched stages (no query), or None."""
    if launch.current_stage_id is None:
        return None
    return next((stage for stage in launch.ordered_stages() if stage.pk == launch.current_stage_id), None)
