"""What must happen next on a launch, and who must do it: the launch page's "next steps" panel,
derived from the checklist's evaluation and the stage's sign-offs (never a rule of its own), so a
report or the API can say the same."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from raci.choices import Role
from raci.selectors import bar_functions, owning_area, serves_any, slo_functions, slo_owning_area
from readiness.checklist import Readiness
from readiness.models import Launch
from readiness.people import person_name

# Items the panel names step by step; every other failing item is one step "make it pass".
SIGNOFFS = "stakeholders_approved"
AGREEMENT = "failure_rate_agreed"
# Where on the launch page an item is made to pass (default: the item in the checklist).
FIXED_AT = {
    "raci_defined": "raci",
    "incident_owner": "raci",
    "data_classified": "facts-dataasset",
    "pii_policy": "facts-dataasset",
    "slos_defined": "facts-slo",
    "rollback_plan": "facts-rollbackplan",
    "incident_runbook": "facts-runbook",
    "feedback_loop": "facts-feedbackchannel",
    "quality_evidence": "facts-evalrun",
}


@dataclass(frozen=True)
class Step:
    """One thing to do: ``action`` in words, ``people`` who may do it (empty: the owner), whether
    the reader is one of them, and where on the launch page to do it (``anchor``) or which page
    (``url_name`` with the launch's slug, for the interface to resolve)."""

    action: str
    people: tuple[str, ...] = ()
    mine: bool = False
    anchor: str = ""
    url_name: str = ""
    detail: str = ""
    waiting: bool = False  # the step can only be taken after the ones before it


@dataclass(frozen=True)
class NextSteps:
    stage_name: str | None
    steps: list[Step] = field(default_factory=list)
    # How many gating items, besides the sign-offs themselves, still fail for the next stage.
    failing_before_signoffs: int = 0

    @property
    def ready_for_signoffs(self) -> bool:
        return self.stage_name is not None and self.failing_before_signoffs == 0


def failing_before_signoffs(readiness: Readiness) -> list:
    """The next stage's gating items that fail, the sign-offs aside: what asking the approvers
    before would have them approve facts still changing."""
    return [result for result in readiness.blockers if result.key != SIGNOFFS]


def next_steps(launch: Launch, readiness: Readiness, signoffs: list, user, *, proposed: int = 0) -> NextSteps:
    """The steps towards the next stage, in the order they can be taken. ``launch`` comes from
    ``presentation.launch.launch_as_shown`` (no query here); ``signoffs`` from
    ``approvals.selectors.stage_signoffs``; ``proposed`` counts the template's unconfirmed facts."""
    owner = person_name(launch.owner)
    is_owner = user is not None and user.pk == launch.owner_id
    stage = readiness.stage
    failing = failing_before_signoffs(readiness) if stage is not None else []
    steps: list[Step] = []
    if launch.archived or stage is None:
        return NextSteps(stage.name if stage else None, steps, len(failing))

    def owners_step(action: str, **kwargs) -> Step:
        return Step(action, (owner,), is_owner, **kwargs)

    if proposed:
        steps.append(
            owners_step(
                _("Confirm the %(count)s values the template proposed, or change them") % {"count": proposed},
                anchor="proposals",
            )
        )
    for slot in launch.stakeholder_slots.all():
        if slot.stakeholder_id is None:
            steps.append(
                owners_step(
                    _("Assign a %(function)s stakeholder") % {"function": slot.get_function_display()},
                    anchor="stakeholders",
                )
            )
    steps += _agreements(launch, user)
    covered = {SIGNOFFS, AGREEMENT}
    for result in failing:
        if result.key in covered:
            continue
        steps.append(
            owners_step(
                _("Make “%(number)s. %(title)s” pass") % {"number": result.number, "title": result.title},
                anchor=FIXED_AT.get(result.key, f"item-{result.key}"),
                detail=result.reasons[0] if result.reasons else "",
            )
        )
    steps += _signoff_steps(readiness, signoffs, failing, owners_step, user)
    return NextSteps(stage.name, steps, len(failing))


def _agreements(launch: Launch, user) -> list[Step]:
    """Quality bars and SLOs no Accountable has agreed yet, each naming who may agree it."""
    areas = list(launch.areas.all())
    steps = []
    facts = [
        (bar, owning_area(areas, bar.metric), bar_functions(bar.metric), _("Agree the quality bar “%(name)s”"))
        for bar in launch.quality_bars.all()
    ] + [
        (slo, slo_owning_area(areas, slo.indicator), slo_functions(slo.indicator), _("Agree the SLO “%(name)s”"))
        for slo in launch.slos.all()
    ]
    for fact, area, functions, wording in facts:
        if fact.agreed_by_id is not None:
            continue
        accountable = [
            a.stakeholder
            for a in (area.assignments.all() if area else [])
            if a.role == Role.ACCOUNTABLE and serves_any(a.stakeholder, functions)
        ]
        names = tuple(_("%(name)s (Accountable)") % {"name": s.display_name} for s in accountable)
        section = "qualitybar" if fact._meta.model_name == "qualitybar" else "slo"
        steps.append(
            Step(
                wording % {"name": str(fact)},
                names,
                any(s.user_id == getattr(user, "pk", None) for s in accountable),
                anchor=f"facts-{section}",
                detail=""
                if accountable
                else _("once %(area)s has an Accountable") % {"area": area.name if area else _("its area")},
            )
        )
    return steps


def _signoff_steps(readiness: Readiness, signoffs: list, failing: list, owners_step, user) -> list[Step]:
    stage = readiness.stage
    names = {"stage": stage.name}
    if failing:
        return [
            owners_step(
                _("Request sign-offs for %(stage)s") % names,
                anchor="signoffs",
                waiting=True,
                detail=ngettext(
                    "once the failing checklist item passes",
                    "once the %(count)s failing checklist items pass",
                    len(failing),
                )
                % {"count": len(failing)},
            )
        ]
    steps = []
    unrequested = [state for state in signoffs if state.request is None]
    if unrequested:
        steps.append(owners_step(_("Request sign-offs for %(stage)s") % names, anchor="signoffs"))
    for state in signoffs:
        if state.request is None or state.satisfied:
            continue
        people = list(state.request.addressees.all())
        steps.append(
            Step(
                _("Decide the %(function)s sign-off for %(stage)s")
                % {"function": state.requirement.function_label, **names},
                tuple(person_name(p) for p in people),
                any(p.pk == getattr(user, "pk", None) for p in people),
                anchor="signoffs",
                detail=state.problems[0] if state.problems else "",
            )
        )
    if readiness.may_enter:
        steps.append(owners_step(_("Advance to %(stage)s") % names, url_name="web:advance"))
    return steps
