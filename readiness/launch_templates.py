"""Launch templates: a named recipe that fills a new launch with standard facts in one call.

``readiness`` builds its own facts; other apps add theirs (areas, stakeholder slots) through
``register_contributor`` so that this app does not depend on them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from .choices import NotifyScope, Severity, SloIndicator, StageKind

Contributor = Callable[..., None]  # contributor(*, launch, template, actor) -> None


@dataclass(frozen=True)
class StageSpec:
    kind: str
    name: str
    exposure_percent: Decimal


@dataclass(frozen=True)
class SeveritySpec:
    level: str
    definition: str
    response_minutes: int | None
    notify: str


@dataclass(frozen=True)
class SloSpec:
    indicator: str
    target: Decimal
    alert_threshold: Decimal | None


@dataclass(frozen=True)
class QualityBarSpec:
    metric: str
    failure_definition: str
    max_failure_rate: Decimal
    min_samples: int = 100


@dataclass(frozen=True)
class LaunchTemplate:
    key: str
    name: str
    description: str
    stages: tuple[StageSpec, ...]
    severity_levels: tuple[SeveritySpec, ...]
    slos: tuple[SloSpec, ...]
    quality_bars: tuple[QualityBarSpec, ...]
    stakeholder_functions: tuple[str, ...]
    contributors: list[Contributor] = field(default_factory=list, compare=False)


GENAI_FEATURE = LaunchTemplate(
    key="genai-feature",
    name="Generative AI feature",
    description="An LLM-backed product feature rolled out internal → beta → full.",
    stages=(
        StageSpec(StageKind.INTERNAL, "Internal", Decimal("1")),
        StageSpec(StageKind.BETA, "Beta", Decimal("10")),
        StageSpec(StageKind.FULL, "Full", Decimal("100")),
    ),
    severity_levels=(
        SeveritySpec(Severity.P0, "Whole service down.", 15, NotifyScope.ALL_TEAMS),
        SeveritySpec(Severity.P1, "Core feature broken.", 60, NotifyScope.OWNING_TEAM),
        SeveritySpec(Severity.P2, "Partial degradation.", 240, NotifyScope.ASSIGNEE),
        SeveritySpec(Severity.P3, "Minor issue.", None, NotifyScope.BACKLOG),
    ),
    # Proposals a person confirms or changes. There is no template cost budget: the monthly
    # budget and its daily alert are entered by a person (launch_create_from_template or later).
    slos=(
        SloSpec(SloIndicator.SUCCESS_RATE, Decimal("99.5"), Decimal("99")),
        SloSpec(SloIndicator.LATENCY_P95, Decimal("3000"), Decimal("5000")),
    ),
    quality_bars=(
        QualityBarSpec(
            "wrong_answers",
            "An answer a reviewer judges factually wrong or unsupported by the sources.",
            Decimal("0.05"),
        ),
    ),
    # Legal, security, customer support and business: slots created empty, waiting for people.
    stakeholder_functions=("legal", "security", "customer_support", "business"),
)

TEMPLATES: dict[str, LaunchTemplate] = {GENAI_FEATURE.key: GENAI_FEATURE}


def register_contributor(template_key: str, contributor: Contributor) -> None:
    """Let another app add its part to launches created from ``template_key`` (idempotent)."""
    contributors = TEMPLATES[template_key].contributors
    if contributor not in contributors:
        contributors.append(contributor)
