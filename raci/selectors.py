"""Who serves which function: the single source of truth is active membership of a team."""

from __future__ import annotations

from readiness.choices import SloIndicator
from readiness.i18n import join_or

from .choices import AREA_FUNCTIONS, STANDARD_AREA_CONCERNS, AreaKind, TeamFunction
from .models import LanguagePreference, ResponsibilityArea, Team

# The concern an SLO's indicator measures; the area owning that concern agrees its targets.
SLO_CONCERNS = {
    SloIndicator.SUCCESS_RATE: "availability",
    SloIndicator.ERROR_RATE: "availability",
    SloIndicator.LATENCY_P50: "latency",
    SloIndicator.LATENCY_P95: "latency",
    SloIndicator.LATENCY_P99: "latency",
    SloIndicator.COST_DAILY: "cost",
    SloIndicator.COST_MONTHLY: "cost",
}


def owning_area(areas: list[ResponsibilityArea], metric: str) -> ResponsibilityArea | None:
    """The area whose concerns include ``metric``; model/prompt quality owns unclaimed metrics."""
    return _owner(areas, metric, fallback=AreaKind.MODEL_QUALITY)


def slo_owning_area(areas: list[ResponsibilityArea], indicator: str) -> ResponsibilityArea | None:
    """The area owning the SLO's concern (availability, latency, cost); operations
    (infrastructure) owns the rest."""
    return _owner(areas, SLO_CONCERNS.get(indicator, ""), fallback=AreaKind.INFRASTRUCTURE)


def _owner(areas: list[ResponsibilityArea], concern: str, *, fallback: str) -> ResponsibilityArea | None:
    for area in areas:
        if concern and concern in area.concerns:
            return area
    return next((area for area in areas if area.kind == fallback), None)


def privacy_owning_area(areas: list[ResponsibilityArea]) -> ResponsibilityArea | None:
    """The area owning privacy (the policy area, unless another claims the concern): its
    Accountable decides whether personal or confidential data may be declassified or dropped."""
    return _owner(areas, "privacy", fallback=AreaKind.POLICY)


def concern_functions(concern: str, fallback_kind: str = AreaKind.MODEL_QUALITY) -> frozenset[str]:
    """The functions whose people answer for ``concern``, from the concern alone, never from the
    area that claims it: a standard concern, those of the standard area it belongs to (privacy:
    legal, compliance or security; latency, availability, cost: platform); any other concern, those
    of ``fallback_kind``'s standard area (an unlisted quality metric: ML). So an owner who moves a
    metric to an area of their own, or renames it to one nobody listed, chooses no one."""
    for kind, concerns in STANDARD_AREA_CONCERNS.items():
        if concern in concerns:
            return AREA_FUNCTIONS[kind]
    return AREA_FUNCTIONS.get(fallback_kind, frozenset())


def bar_functions(metric: str) -> frozenset[str]:
    """Who answers for a quality bar (its agreement, removal and evidence): ML, unless the metric
    is a standard concern of another area."""
    return concern_functions(metric, AreaKind.MODEL_QUALITY)


def slo_functions(indicator: str) -> frozenset[str]:
    """Who answers for an SLO: those of the standard area owning its concern (platform)."""
    return concern_functions(SLO_CONCERNS.get(indicator, ""), AreaKind.INFRASTRUCTURE)


def function_labels(functions: frozenset[str]) -> str:
    return join_or(sorted(str(TeamFunction(function).label) for function in functions))


def serves_any(stakeholder, functions: frozenset[str]) -> bool:
    """From prefetched teams (``stakeholder__teams``): an active member of a team of one of ``functions``."""
    return stakeholder.is_reachable and any(team.function in functions for team in stakeholder.teams.all())


def serves_function(user, function: str) -> bool:
    """``user`` is an active member of a team of ``function``."""
    return bool(
        user.is_authenticated and user.is_active and Team.objects.filter(function=function, members__user=user).exists()
    )


def is_executive(user) -> bool:
    """The one definition of an executive: an active member of an executive team. Executives
    see every launch and may decide any waiver or policy change request (never their own)."""
    return serves_function(user, TeamFunction.EXECUTIVE)


def is_function_lead(user, function: str) -> bool:
    """``user`` leads a team of ``function`` (and is still an active member of it)."""
    return bool(
        user.is_authenticated
        and user.is_active
        and Team.objects.filter(function=function, lead__user=user, members__user=user).exists()
    )


def preferred_language(user) -> str | None:
    """The language ``user`` chose (``raci.services.language_set``), or None if they never chose."""
    if user is None or not user.is_authenticated:
        return None
    return LanguagePreference.objects.filter(user=user).values_list("language", flat=True).first()
