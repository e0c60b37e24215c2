"""Builders for whole launches, so each checklist test starts from a known state and breaks one fact."""

from django.utils import timezone

from raci.choices import AreaKind, Role
from readiness.choices import AccessLevel, Classification
from readiness.models import Launch
from readiness.services import launch_create_from_template
from tests.factories import (
    DataAssetFactory,
    EvalRunFactory,
    FeedbackChannelFactory,
    RaciAssignmentFactory,
    RollbackPlanFactory,
    RunbookFactory,
    StakeholderFactory,
    UserFactory,
)


def ready_launch(*, owner=None, slug: str = "assistant", name: str = "Support assistant") -> Launch:
    """A launch from the Generative AI template with every fact filled in: every check passes
    (except sign-offs, which no one has requested)."""
    owner = owner or UserFactory()
    launch = launch_create_from_template(actor=owner, template="genai-feature", name=name, slug=slug, owner=owner)
    for area in launch.areas.all():
        RaciAssignmentFactory(area=area, role=Role.ACCOUNTABLE, stakeholder=StakeholderFactory())
        RaciAssignmentFactory(area=area, role=Role.RESPONSIBLE, stakeholder=StakeholderFactory())
    model_area = launch.areas.get(kind=AreaKind.MODEL_QUALITY)
    accountable = model_area.assignments.get(role=Role.ACCOUNTABLE).stakeholder
    bar = launch.quality_bars.get()
    bar.agreed_by = accountable.user
    bar.agreed_at = timezone.now()
    bar.save()
    EvalRunFactory(quality_bar=bar, samples=1000, failures=30)
    DataAssetFactory(launch=launch, name="Help-centre articles")
    DataAssetFactory(
        launch=launch,
        name="Support tickets",
        classification=Classification.PERSONAL,
        access_level=AccessLevel.RESTRICTED,
        masked_in_logs=True,
        retention_days=30,
        audit_interval_days=90,
        last_audit_at=timezone.localdate(),
    )
    for slo in launch.slos.all():
        slo.dashboard_link = "https://grafana.example.com/d/assistant"
        slo.save()
    RollbackPlanFactory(launch=launch)
    RunbookFactory(launch=launch)
    FeedbackChannelFactory(launch=launch)
    return launch
