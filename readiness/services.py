"""State changes on launches. Every function takes the acting user and runs in one transaction."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from .access import access_synced_once
from .history import save_with_history
from .launch_templates import TEMPLATES
from .models import SLO, Launch, QualityBar, RolloutStage, SeverityLevel

# Alert when spend reaches this share of the budget, before it is exceeded.
COST_ALERT_SHARE = Decimal("0.9")


@transaction.atomic
def launch_create(
    *,
    actor,
    name: str,
    slug: str,
    owner=None,
    summary: str = "",
    risk_tier: str = "medium",
    target_date: datetime.date | None = None,
) -> Launch:
    """Create an empty launch owned by ``owner`` (default: the actor), who may then view and change it."""
    launch = Launch(
        name=name, slug=slug, owner=owner or actor, summary=summary, risk_tier=risk_tier, target_date=target_date
    )
    save_with_history(launch, actor=actor, reason="Launch created")  # the owner's grants follow (readiness.signals)
    return launch


@transaction.atomic
@access_synced_once()
def launch_create_from_template(
    *,
    actor,
    template: str,
    name: str,
    slug: str,
    owner=None,
    summary: str = "",
    risk_tier: str = "medium",
    target_date: datetime.date | None = None,
    monthly_cost_budget: Decimal = Decimal("10000"),
) -> Launch:
    """Create a launch with a template's stages, severity policy, SLOs, quality bars and whatever
    other apps contribute (responsibility areas, stakeholder slots). All or nothing."""
    try:
        spec = TEMPLATES[template]
    except KeyError:
        raise ValidationError(
            {"template": f"Unknown launch template '{template}'. Known: {', '.join(sorted(TEMPLATES))}."}
        ) from None
    if monthly_cost_budget is None or monthly_cost_budget <= 0:
        raise ValidationError({"monthly_cost_budget": "The monthly cost budget must be a positive amount."})

    launch = launch_create(
        actor=actor, name=name, slug=slug, owner=owner, summary=summary, risk_tier=risk_tier, target_date=target_date
    )
    reason = f"Created from template '{spec.name}'"
    for order, stage in enumerate(spec.stages, start=1):
        save_with_history(
            RolloutStage(
                launch=launch, kind=stage.kind, name=stage.name, order=order, exposure_percent=stage.exposure_percent
            ),
            actor=actor,
            reason=reason,
        )
    for severity in spec.severity_levels:
        save_with_history(
            SeverityLevel(
                launch=launch,
                level=severity.level,
                definition=severity.definition,
                response_minutes=severity.response_minutes,
                notify=severity.notify,
            ),
            actor=actor,
            reason=reason,
        )
    for slo in spec.slos:
        target = slo.target if slo.target is not None else monthly_cost_budget
        alert = slo.alert_threshold if slo.target is not None else (monthly_cost_budget * COST_ALERT_SHARE)
        save_with_history(
            SLO(launch=launch, indicator=slo.indicator, target=target, alert_threshold=alert),
            actor=actor,
            reason=reason,
        )
    for bar in spec.quality_bars:
        save_with_history(
            QualityBar(
                launch=launch,
                metric=bar.metric,
                failure_definition=bar.failure_definition,
                max_failure_rate=bar.max_failure_rate,
                min_samples=bar.min_samples,
            ),
            actor=actor,
            reason=reason,
        )
    for contributor in spec.contributors:
        contributor(launch=launch, template=spec, actor=actor)
    return launch
