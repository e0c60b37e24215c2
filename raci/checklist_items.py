"""Checklist items that need the RACI: who agreed the quality bars, who owns each area, who is paged."""

from django.conf import settings
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from readiness.checklist import Context, Outcome, register
from readiness.checklist_items import quality_bars_with_agreements, slos_with_agreements
from readiness.choices import NotifyScope, Severity, SloIndicator
from readiness.i18n import shown_date
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


def _not_serving(what: str, agreed_by, accountables, concern: str, fallback_kind: str) -> str | None:
    """Why an agreement by a current Accountable does not count: they are not (or no longer) in a
    team of a function that answers for the concern (from the concern itself, never from the area
    claiming it)."""
    functions = concern_functions(concern, fallback_kind)
    person = next(s for s in accountables if s.user_id == agreed_by.pk)
    if not functions or serves_any(person, functions):
        return None
    return _("%(what)s was agreed by %(person)s, who is not in any %(functions)s team.") % {
        "what": what,
        "person": person.display_name,
        "functions": function_labels(functions),
    }


@register(
    "failure_rate_agreed",
    number=2,
    title=gettext_lazy("Acceptable failure rates"),
    prefetch=[quality_bars_with_agreements, _areas_with_people],
)
def failure_rate_agreed(ctx: Context) -> Outcome:
    bars = list(ctx.launch.quality_bars.all())
    if not bars:
        return Outcome.failed(_("No quality metric has an agreed maximum failure rate yet."))
    areas = list(ctx.launch.areas.all())
    problems = []
    for bar in bars:
        names = {"metric": bar.metric}
        if bar.agreed_by_id is None:
            problems.append(_("Quality bar '%(metric)s' has not been agreed by anyone.") % names)
            continue
        area = owning_area(areas, bar.metric)
        if area is None:
            problems.append(
                _("No responsibility area owns quality bar '%(metric)s', so its Accountable is unknown.") % names
            )
            continue
        names["area"] = area.name
        accountables = area.people(Role.ACCOUNTABLE)
        if not accountables:
            problems.append(_("Quality bar '%(metric)s': area '%(area)s' has no Accountable to agree it.") % names)
        elif bar.agreed_by_id not in {s.user_id for s in accountables}:
            problems.append(
                _("Quality bar '%(metric)s' was agreed by %(person)s, but the Accountable for '%(area)s' is %(names)s.")
                % {**names, "person": person_name(bar.agreed_by), "names": _names(accountables)}
            )
        elif problem := _not_serving(
            _("Quality bar '%(metric)s'") % names, bar.agreed_by, accountables, bar.metric, AreaKind.MODEL_QUALITY
        ):
            problems.append(problem)
    success = ngettext(
        "%(count)s quality bar agreed by the Accountable of the owning area.",
        "%(count)s quality bars agreed by the Accountable of the owning area.",
        len(bars),
    ) % {"count": len(bars)}
    return Outcome.from_problems(problems, success)


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
            problems.append(
                _("Standard area '%(area)s' is missing: add it, or record why this launch does without it.")
                % {"area": label}
            )
        else:
            notes.append(
                _("Standard area '%(area)s' is left out: “%(reason)s” (recorded by %(person)s on %(date)s).")
                % {
                    "area": label,
                    "reason": omission.reason,
                    "person": person_name(omission.recorded_by),
                    "date": shown_date(omission.recorded_at),
                }
            )
    return problems, notes


def area_problems(area: ResponsibilityArea) -> list[tuple[str, Stakeholder | None]]:
    """What breaks "Responsibilities (RACI)" in one area (its assignments prefetched with the people's
    teams), each problem with the person it is about, if any: the RACI grid marks that cell."""
    problems: list[tuple[str, Stakeholder | None]] = []
    accountables = area.people(Role.ACCOUNTABLE)
    if not accountables:
        problems.append((_("Area '%(area)s' has no Accountable.") % {"area": area.name}, None))
    elif len(accountables) > 1:
        problems.append(
            (
                _("Area '%(area)s' has %(count)s Accountables (%(names)s); exactly one is needed.")
                % {"area": area.name, "count": len(accountables), "names": _names(accountables)},
                None,
            )
        )
    problems.extend(
        (
            _("Area '%(area)s': Accountable %(person)s is deactivated.")
            % {"area": area.name, "person": person.display_name},
            person,
        )
        for person in accountables
        if not person.is_reachable
    )
    functions = AREA_FUNCTIONS.get(area.kind)
    problems.extend(
        (
            _("Area '%(area)s': Accountable %(person)s is not in any %(functions)s team.")
            % {"area": area.name, "person": person.display_name, "functions": function_labels(functions)},
            person,
        )
        for person in accountables
        if functions and person.is_reachable and not serves_any(person, functions)
    )
    if not area.people(Role.RESPONSIBLE):
        problems.append((_("Area '%(area)s' has no Responsible.") % {"area": area.name}, None))
    return problems


@register(
    "raci_defined",
    number=3,
    title=gettext_lazy("Responsibilities (RACI)"),
    prefetch=[_areas_with_people, _omissions_with_authors],
)
def raci_defined(ctx: Context) -> Outcome:
    areas = list(ctx.launch.areas.all())
    if not areas:
        return Outcome.failed(_("No responsibility areas are defined."))
    problems, notes = _standard_areas(areas, ctx.launch)
    for area in areas:
        problems.extend(problem for problem, _person in area_problems(area))
    if problems:
        return Outcome.failed(*problems)
    success = ngettext(
        "%(count)s area, each with one Accountable and at least one Responsible.",
        "%(count)s areas, each with one Accountable and at least one Responsible.",
        len(areas),
    ) % {"count": len(areas)}
    return Outcome.passed(success, *notes)


_REQUIRED_SLOS = (
    (gettext_lazy("No success rate SLO is recorded."), SloIndicator.SUCCESS_RATE),
    (gettext_lazy("No p95 latency SLO is recorded."), SloIndicator.LATENCY_P95),
    (gettext_lazy("No monthly cost SLO is recorded."), SloIndicator.COST_MONTHLY),
)


def _decimal(value) -> str:
    return format(value.normalize(), "f")


def _slo_problems(slo, areas: list[ResponsibilityArea]) -> list[str]:
    label = slo.get_indicator_display()
    if slo.indicator == SloIndicator.COST_MONTHLY:
        values = (("target", _("monthly budget")), ("alert_threshold", _("daily alert limit")))
    else:
        values = (("target", _("target")), ("alert_threshold", _("alert threshold")))
    problems = []
    for name, what in values:
        value = getattr(slo, name)
        if value is None:
            problems.append(_("The %(slo)s SLO has no %(what)s.") % {"slo": label, "what": what})
        elif slo.is_proposed(name):
            problems.append(
                _("The %(slo)s SLO's %(what)s (%(value)s) is %(proposed)s.")
                % {"slo": label, "what": what, "value": _decimal(value), "proposed": PROPOSED_BY_TEMPLATE}
            )
    if problems:
        return problems
    area = slo_owning_area(areas, slo.indicator)
    accountables = area.people(Role.ACCOUNTABLE) if area else []
    if slo.agreed_by_id is None:
        if area:
            return [
                _("The %(slo)s SLO has not been agreed by the Accountable for '%(area)s'.")
                % {"slo": label, "area": area.name}
            ]
        return [_("The %(slo)s SLO has not been agreed by an Accountable (no area owns it).") % {"slo": label}]
    if slo.agreed_by_id not in {person.user_id for person in accountables}:
        names = {"slo": label, "person": person_name(slo.agreed_by)}
        if not area:
            return [_("The %(slo)s SLO was agreed by %(person)s, but no area owns it.") % names]
        return [
            _("The %(slo)s SLO was agreed by %(person)s, but the Accountable for '%(area)s' is %(names)s.")
            % {**names, "area": area.name, "names": _names(accountables) or _("nobody")}
        ]
    concern = SLO_CONCERNS.get(slo.indicator, "")
    problem = _not_serving(
        _("The %(slo)s SLO") % {"slo": label}, slo.agreed_by, accountables, concern, AreaKind.INFRASTRUCTURE
    )
    return [problem] if problem else []


@register(
    "slos_defined",
    number=7,
    title=gettext_lazy("SLO targets and alerts"),
    prefetch=[slos_with_agreements, _areas_with_people],
)
def slos_defined(ctx: Context) -> Outcome:
    slos = {slo.indicator: slo for slo in ctx.launch.slos.all()}
    areas = list(ctx.launch.areas.all())
    problems = []
    for missing, indicator in _REQUIRED_SLOS:
        slo = slos.get(indicator)
        if slo is None:
            problems.append(str(missing))
        else:
            problems.extend(_slo_problems(slo, areas))
    return Outcome.from_problems(
        problems,
        _(
            "Success rate, p95 latency and the monthly cost budget have confirmed targets and alerts, "
            "agreed by the Accountable of the owning area."
        ),
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
                _(
                    "%(less)s is answered faster (%(less_time)s) than %(more)s (%(more_time)s): "
                    "response times must not shrink as severity falls (P0 ≤ P1 ≤ P2 ≤ P3)."
                )
                % {
                    "less": less_severe.level,
                    "less_time": less_severe.response_label,
                    "more": more_severe.level,
                    "more_time": more_severe.response_label,
                }
            )
    limits = {
        Severity.P0: settings.SEVERITY_P0_MAX_RESPONSE_MINUTES,
        Severity.P1: settings.SEVERITY_P1_MAX_RESPONSE_MINUTES,
    }
    for code, limit in limits.items():
        level = levels.get(code)
        if level is not None and _response_minutes(level) > limit:
            problems.append(
                _("%(level)s response time is %(time)s; at most %(limit)s is allowed for %(level)s.")
                % {"level": code, "time": level.response_label, "limit": minutes_label(limit)}
            )
    return problems


@register(
    "incident_owner",
    number=4,
    title=gettext_lazy("Incident owners"),
    prefetch=["severity_levels", _areas_with_people],
)
def incident_owner(ctx: Context) -> Outcome:
    levels = {level.level: level for level in ctx.launch.severity_levels.all()}
    areas = list(ctx.launch.areas.all())
    problems = [
        _("Severity level %(level)s is not defined.") % {"level": code}
        for code in Severity.values
        if code not in levels
    ]
    problems += [
        _("%(level)s's response time (%(time)s) is %(proposed)s.")
        % {"level": code, "time": levels[code].response_label, "proposed": PROPOSED_BY_TEMPLATE}
        for code in sorted(levels)
        if levels[code].is_proposed("response_minutes")
    ]
    problems.extend(_response_problems(levels))
    if not areas:
        problems.append(_("No responsibility areas are defined, so no incident resolves to people."))
        return Outcome.failed(*problems)
    for code in sorted(levels):
        level = levels[code]
        by_area = people_to_notify(level, areas)
        if level.notify == NotifyScope.ALL_TEAMS:
            if not any(by_area.values()):
                problems.append(
                    _("%(level)s pages all teams, but no active person is Responsible or Accountable anywhere.")
                    % {"level": code}
                )
            continue
        for area_name, people in by_area.items():
            if not people:
                problems.append(
                    _("%(level)s (%(notify)s) resolves to nobody in area '%(area)s'.")
                    % {"level": code, "notify": level.get_notify_display(), "area": area_name}
                )
    return Outcome.from_problems(
        problems,
        _(
            "Every severity level resolves to named people in every area, with response times in order and "
            "P0 and P1 within their limits."
        ),
    )
