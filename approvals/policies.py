"""Who must approve which stage: risk-tier defaults, the launch's own policy, and what its facts demand."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from raci.choices import TeamFunction as F
from readiness.choices import Classification, RiskTier, StageKind

from .choices import PolicyChangeStatus
from .models import PolicyChange

# Functions that must approve entering a stage of each kind, by risk tier, with how many approvals.
_INTERNAL = {F.PRODUCT: 1, F.ML: 1}
_BETA = _INTERNAL | {F.LEGAL: 1, F.SECURITY: 1, F.DATA: 1}
_FULL = _BETA | {F.BUSINESS: 1, F.CUSTOMER_SUPPORT: 1, F.EXECUTIVE: 1}
DEFAULT_REQUIREMENTS: dict[str, dict[str, dict[str, int]]] = {
    RiskTier.LOW: {
        StageKind.INTERNAL: {F.PRODUCT: 1},
        StageKind.BETA: {F.PRODUCT: 1, F.ML: 1, F.SECURITY: 1},
        StageKind.FULL: {F.PRODUCT: 1, F.ML: 1, F.SECURITY: 1, F.BUSINESS: 1, F.CUSTOMER_SUPPORT: 1},
    },
    RiskTier.MEDIUM: {StageKind.INTERNAL: _INTERNAL, StageKind.BETA: _BETA, StageKind.FULL: _FULL},
    RiskTier.HIGH: {
        StageKind.INTERNAL: _INTERNAL | {F.SECURITY: 1},
        StageKind.BETA: _BETA | {F.COMPLIANCE: 1},
        StageKind.FULL: _FULL | {F.COMPLIANCE: 1, F.SECURITY: 2},
    },
}


@dataclass(frozen=True)
class Requirement:
    function: str
    approvals_required: int
    why: str

    @property
    def function_label(self) -> str:
        return F(self.function).label


def default_requirements(risk_tier: str, stage_kind: str) -> dict[str, int]:
    by_kind = DEFAULT_REQUIREMENTS[risk_tier]
    # A custom stage is treated as the strictest stage it could be.
    return dict(by_kind.get(stage_kind, by_kind[StageKind.FULL]))


def _policy(stage):
    try:
        return stage.signoff_policy
    except stage.__class__.signoff_policy.RelatedObjectDoesNotExist:
        return None


def _approved_floors(policy, requirements) -> dict[str, int]:
    """Function → the lowest number of approvals an approved policy change allowed for the
    policy's stage (0 removed the function): from the rows' ``approved_floor`` when they come
    from ``with_checklist_facts`` (``selectors.requirements_with_approved_floor``), else one query."""
    if all(hasattr(r, "approved_floor") for r in requirements):
        return {r.function: r.approved_floor for r in requirements if r.approved_floor is not None}
    floors: dict[str, int] = {}
    for function, count in (
        PolicyChange.objects.filter(stage_id=policy.stage_id, status=PolicyChangeStatus.APPROVED)
        .exclude(function="")
        .values_list("function", "approvals_required")
    ):
        floors[function] = min(floors.get(function, 5), count or 0)
    return floors


def effective_requirements(launch, stage) -> list[Requirement]:
    """The sign-offs entering ``stage`` needs. Reads prefetched rows only when the launch comes
    from ``with_checklist_facts``.

    The launch's risk tier sets the defaults; a written policy is an exception on top of them,
    computed here on every read so that raising (or lowering) the tier changes a stage with a
    written policy too: per function, the more of the tier's default and the policy's number,
    except that a default an approved policy change lowered counts as lowered (never below what
    was approved). The stored policy stays as written (and ledgered)."""
    policy = _policy(stage)
    defaults = default_requirements(launch.risk_tier, stage.kind)
    default = _("%(tier)s-risk default") % {"tier": launch.get_risk_tier_display()}
    base, why = dict(defaults), {function: default for function in defaults}
    if policy is not None:
        requirements = list(policy.requirements.all())
        written = {r.function: r.approvals_required for r in requirements}
        # Only a row below the tier's default may stand on an approved lowering.
        below = any(count < defaults.get(function, 0) for function, count in written.items())
        lowered = _approved_floors(policy, requirements) if below else {}
        for function in set(defaults) | set(written):
            floor = defaults.get(function, 0)
            if function in lowered:
                floor = min(floor, lowered[function])
            base[function] = max(floor, written.get(function, 0))
            if base[function] != defaults.get(function, 0):
                why[function] = _("launch policy")
    required = {function: count for function, count in base.items() if count > 0}

    def demand(function: str, reason: str) -> None:
        if required.get(function, 0) < 1:
            required[function] = 1
            why[function] = reason

    # Personal data needs legal and security from the first stage on, internal included: an
    # internal launch that processes customer PII exposes it to employees all the same.
    for asset in launch.data_assets.all():
        if asset.classification == Classification.PERSONAL:
            demand(F.LEGAL, _("personal data in '%(asset)s'") % {"asset": asset.name})
            demand(F.SECURITY, _("personal data in '%(asset)s'") % {"asset": asset.name})
        elif asset.classification == Classification.CONFIDENTIAL:
            demand(F.SECURITY, _("confidential data in '%(asset)s'") % {"asset": asset.name})
    order = list(F.values)
    return [
        Requirement(function, count, why[function])
        for function, count in sorted(required.items(), key=lambda item: order.index(item[0]))
    ]


def consulted_must_acknowledge(stage) -> bool:
    policy = _policy(stage)
    return bool(policy and policy.consulted_must_acknowledge)


def policy_state(policy) -> dict:
    """A written policy as the ledger records it after each change: every requirement (0 kept, so
    a removal is visible) and the consultation rule."""
    return {
        "stage": policy.stage_id,
        "requirements": {r.function: r.approvals_required for r in policy.requirements.order_by("function")},
        "consulted must acknowledge": policy.consulted_must_acknowledge,
    }
