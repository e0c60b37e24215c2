"""Checklist items that need the RACI: who agreed the quality bars, who owns each area, who is paged."""

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from readiness.checklist import Context, Outcome, plural, register
from readiness.checklist_items import quality_bars_with_agreements, slos_with_agreements
from readiness.choices import NotifyScope, Severity, SloIndicator
from readiness.models import PROPOSED_BY_TEMPLATE, minutes_label
from readiness.people import person_name

from .choices import AREA_FUNCTIONS, STANDARD_AREA_CONCERNS, AreaKind, Role
from .models import AreaOmission, RaciAssignment, ResponsibilityArea, Stakeholder
from .selectors import SLO_CONCERNS, concern_functions, function_labels, owning_area, serves_any, slo_owning_area


def _areas_with_people() -> Prefetch:
    assignments = (
        RaciAssignment.objects.select_related("stakeholder__user")
        .prefetch_related("stakeholder__teams")
        .order_by("role", "pk")
    )
    return Prefetch(
        "areas",
        queryset=ResponsibilityArea.objects.order_by("pk").prefetch_related(
            Prefetch("assignments", queryset=assignments)
        ),
    )


def _names(stakeholders) -> str:
    return ", ".join(s.display_name for s in stakeholders)


def _not_serving(what: str, agreed_by, accountables, concern: str, area, fallback_kind: str) -> str | None:
    """Why an agreement by a current Accountable does not count: they are not (or no longer) in a
    team of a function that answers for the concern."""
    functions = concern_functions(concern, area, fallback_kind)
    person = next(s for s in accountables if s.user_id == agreed_by.pk)
    if not functions or serves_any(person, functions):
        return None
    return f"{what} was agreed by {person.display_name}, who is not in a {function_labels(functions)} team."


@register(
    "failure_rate_agreed",
    number=2,
    title="Acceptable failure rate agreed",
    prefetch=[quality_bars_with_agreements, _areas_with_people],
)
def failure_rate_agreed(ctx: Context) -> Outcome:
    bars = list(ctx.launch.quality_bars.all())
    if not bars:
        return Outcome.failed("No quality metric has an agreed maximum failure rate yet.")
    areas = list(ctx.launch.areas.all())
    problems = []
    for bar in bars:
        if bar.agreed_by_id is None:
            problems.append(f"Quality bar '{bar.metric}' has not been agreed by anyone.")
            continue
        area = owning_area(areas, bar.metric)
        if area is None:
            problems.append(f"No responsibility area owns quality bar '{bar.metric}', so its Accountable is unknown.")
            continue
        accountables = area.people(Role.ACCOUNTABLE)
        if not accountables:
            problems.append(f"Quality bar '{bar.metric}': area '{area.name}' has no Accountable to agree it.")
        elif bar.agreed_by_id not in {s.user_id for s in accountables}:
            problems.append(
                f"Quality bar '{bar.metric}' was agreed by {person_name(bar.agreed_by)}, but the Accountable for "
                f"'{area.name}' is {_names(accountables)}."
            )
        elif problem := _not_serving(
            f"Quality bar '{bar.metric}'", bar.agreed_by, accountables, bar.metric, area, AreaKind.MODEL_QUALITY
        ):
            problems.append(problem)
    return Outcome.from_problems(
        problems, f"{plural(len(bars), 'quality bar')} agreed by the Accountable of the owning area."
    )


def _omissions_with_authors() -> Prefetch:
    return Prefetch("area_omissions", queryset=AreaOmission.objects.select_related("recorded_by"))


def _standard_areas(areas: list[ResponsibilityArea], launch) -> tuple[list[str], list[str]]:
    """(problems, notes) about the five standard areas: each missing one fails unless the owner
    recorded why the launch does without it; then the note quotes the reason and who wrote it."""
    present = {area.kind for area in areas}
    omissions = {omission.kind: omission for omission in launch.area_omissions.all()}
    problems, notes = [], []
    for kind in STANDARD_AREA_CONCERNS:
        if kind in present:
            continue
        label = AreaKind(kind).label
        omission = omissions.get(kind)
        if omission is None:
            problems.append(f"Standard area '{label}' is missing: add it, or record why this launch does without it.")
        else:
            notes.append(
                f"Standard area '{label}' is left out: “{omission.reason}” "
                f"(recorded by {person_name(omission.recorded_by)} on {timezone.localdate(omission.recorded_at).isoformat()})."
            )
    return problems, notes


def area_problems(area: ResponsibilityArea) -> list[tuple[str, Stakeholder | None]]:
    """What breaks "RACI defined" in one area (its assignments prefetched with the people's
    teams), each problem with the person it is about, if any: the RACI grid marks that cell."""
    problems: list[tuple[str, Stakeholder | None]] = []
    accountables = area.people(Role.ACCOUNTABLE)
    if not accountables:
        problems.append((f"Area '{area.name}' has no Accountable.", None))
    elif len(accountables) > 1:
        problems.append(
            (
                f"Area '{area.name}' has {len(accountables)} Accountables ({_names(accountables)}); exactly one is needed.",
                None,
            )
        )
    problems.extend(
        (f"Area '{area.name}': Accountable {person.display_name} is deactivated.", person)
        for person in accountables
        if not person.is_reachable
    )
    functions = AREA_FUNCTIONS.get(area.kind)
    problems.extend(
        (
            f"Area '{area.name}': Accountable {person.display_name} is not in a {function_labels(functions)} team.",
            person,
        )
        for person in accountables
        if functions and person.is_reachable and not serves_any(person, functions)
    )
    if not area.people(Role.RESPONSIBLE):
        problems.append((f"Area '{area.name}' has no Responsible.", None))
    return problems


@register("raci_defined", number=3, title="RACI defined", prefetch=[_areas_with_people, _omissions_with_authors])
def raci_defined(ctx: Context) -> Outcome:
    areas = list(ctx.launch.areas.all())
    if not areas:
        return Outcome.failed("No responsibility areas are defined.")
    problems, notes = _standard_areas(areas, ctx.launch)
    for area in areas:
        problems.extend(problem for problem, _person in area_problems(area))
    if problems:
        return Outcome.failed(*problems)
    return Outcome.passed(
        f"{plural(len(areas), 'area')}, each with one Accountable and at least one Responsible.", *notes
    )


_REQUIRED_SLOS = (
    ("success rate", SloIndicator.SUCCESS_RATE),
    ("p95 latency", SloIndicator.LATENCY_P95),
    ("monthly cost", SloIndicator.COST_MONTHLY),
)


def _decimal(value) -> str:
    return format(value.normalize(), "f")


def _slo_problems(slo, areas: list[ResponsibilityArea]) -> list[str]:
    label = slo.get_indicator_display()
    if slo.indicator == SloIndicator.COST_MONTHLY:
        values = (("target", "monthly budget"), ("alert_threshold", "daily alert limit"))
    else:
        values = (("target", "target"), ("alert_threshold", "alert threshold"))
    problems = []
    for name, what in values:
        value = getattr(slo, name)
        if value is None:
            problems.append(f"The {label} SLO has no {what}.")
        elif slo.is_proposed(name):
            problems.append(f"The {label} SLO's {what} ({_decimal(value)}) is {PROPOSED_BY_TEMPLATE}.")
    if problems:
        return problems
    area = slo_owning_area(areas, slo.indicator)
    accountables = area.people(Role.ACCOUNTABLE) if area else []
    if slo.agreed_by_id is None:
        who = f"the Accountable for '{area.name}'" if area else "an Accountable (no area owns it)"
        return [f"The {label} SLO has not been agreed by {who}."]
    if slo.agreed_by_id not in {person.user_id for person in accountables}:
        owner = (
            f"the Accountable for '{area.name}' is {_names(accountables) or 'nobody'}" if area else "no area owns it"
        )
        return [f"The {label} SLO was agreed by {person_name(slo.agreed_by)}, but {owner}."]
    concern = SLO_CONCERNS.get(slo.indicator, "")
    problem = _not_serving(f"The {label} SLO", slo.agreed_by, accountables, concern, area, AreaKind.INFRASTRUCTURE)
    return [problem] if problem else []


@register(
    "slos_defined",
    number=7,
    title="SLOs defined",
    prefetch=[slos_with_agreements, _areas_with_people],
)
def slos_defined(ctx: Context) -> Outcome:
    slos = {slo.indicator: slo for slo in ctx.launch.slos.all()}
    areas = list(ctx.launch.areas.all())
    problems = []
    for label, indicator in _REQUIRED_SLOS:
        slo = slos.get(indicator)
        if slo is None:
            problems.append(f"No {label} SLO is recorded.")
        else:
            problems.extend(_slo_problems(slo, areas))
    return Outcome.from_problems(
        problems,
        "Success rate, p95 latency and the monthly cost budget have confirmed targets and alerts, "
        "agreed by the Accountable of the owning area.",
    )


# Which RACI roles each notification scope pages, per area.
_SCOPE_ROLES = {
    NotifyScope.ALL_TEAMS: (Role.RESPONSIBLE, Role.ACCOUNTABLE),
    NotifyScope.OWNING_TEAM: (Role.RESPONSIBLE, Role.ACCOUNTABLE),
    NotifyScope.ASSIGNEE: (Role.RESPONSIBLE,),
    NotifyScope.BACKLOG: (Role.ACCOUNTABLE,),
}


def people_to_notify(level, areas: list[ResponsibilityArea]) -> dict[str, list]:
    """For each area, the reachable people a severity level pages there."""
    roles = _SCOPE_ROLES[level.notify]
    return {
        area.name: [a.stakeholder for a in area.assignments.all() if a.role in roles and a.stakeholder.is_reachable]
        for area in areas
    }


def _response_minutes(level) -> float:
    """For ordering: no response time means 'next sprint', the slowest there is."""
    return float("inf") if level.response_minutes is None else level.response_minutes


def _response_problems(levels: dict) -> list[str]:
    """A less severe level is never answered faster than a more severe one (P0 ≤ P1 ≤ P2 ≤ P3),
    and P0 and P1 are answered within the limits the organisation sets."""
    problems = []
    defined = [levels[code] for code in Severity.values if code in levels]
    for more_severe, less_severe in zip(defined, defined[1:], strict=False):
        if _response_minutes(less_severe) < _response_minutes(more_severe):
            problems.append(
                f"{less_severe.level} is answered faster ({less_severe.response_label}) than {more_severe.level} "
                f"({more_severe.response_label}): response times must not shrink as severity falls (P0 ≤ P1 ≤ P2 ≤ P3)."
            )
    limits = {
        Severity.P0: settings.SEVERITY_P0_MAX_RESPONSE_MINUTES,
        Severity.P1: settings.SEVERITY_P1_MAX_RESPONSE_MINUTES,
    }
    for code, limit in limits.items():
        level = levels.get(code)
        if level is not None and _response_minutes(level) > limit:
            problems.append(
                f"{code} response time is {level.response_label}; at most {minutes_label(limit)} is allowed for {code}."
            )
    return problems


@register(
    "incident_owner",
    number=4,
    title="Incident owner is clear",
    prefetch=["severity_levels", _areas_with_people],
)
def incident_owner(ctx: Context) -> Outcome:
    levels = {level.level: level for level in ctx.launch.severity_levels.all()}
    areas = list(ctx.launch.areas.all())
    problems = [f"Severity level {code} is not defined." for code in Severity.values if code not in levels]
    problems += [
        f"{code}'s response time ({levels[code].response_label}) is {PROPOSED_BY_TEMPLATE}."
        for code in sorted(levels)
        if levels[code].is_proposed("response_minutes")
    ]
    problems.extend(_response_problems(levels))
    if not areas:
        problems.append("No responsibility areas are defined, so no incident resolves to people.")
        return Outcome.failed(*problems)
    for code in sorted(levels):
        level = levels[code]
        by_area = people_to_notify(level, areas)
        if level.notify == NotifyScope.ALL_TEAMS:
            if not any(by_area.values()):
                problems.append(f"{code} pages all teams, but no active person is Responsible or Accountable anywhere.")
            continue
        for area_name, people in by_area.items():
            if not people:
                problems.append(f"{code} ({level.get_notify_display()}) resolves to nobody in area '{area_name}'.")
    return Outcome.from_problems(
        problems,
        "Every severity level resolves to named people in every area, with response times in order and "
        "P0 and P1 within their limits.",
    )
