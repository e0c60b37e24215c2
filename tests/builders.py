"""Builders for whole launches, so each checklist test starts from a known state and breaks one fact."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from raci.choices import AreaKind, Role, TeamFunction
from raci.models import LaunchStakeholder, Stakeholder, Team
from raci.services import quality_bar_agree, slo_agree
from readiness.access import access_synced_once
from readiness.checklist import with_checklist_facts
from readiness.choices import AccessLevel, Classification
from readiness.models import Launch, RolloutStage, SeverityLevel
from readiness.services import fact_version, launch_create_from_template
from tests.factories import (
    DataAssetFactory,
    EvalRunFactory,
    FeedbackChannelFactory,
    RaciAssignmentFactory,
    RollbackPlanFactory,
    RunbookFactory,
    StakeholderFactory,
    UserFactory,
    recorded_together,
    seal,
)

# The function whose people staff each standard area in built launches.
AREA_FUNCTIONS = {
    AreaKind.MODEL_QUALITY: TeamFunction.ML,
    AreaKind.INFRASTRUCTURE: TeamFunction.PLATFORM,
    AreaKind.DATA_RETRIEVAL: TeamFunction.DATA,
    AreaKind.USER_EXPERIENCE: TeamFunction.PRODUCT,
    AreaKind.POLICY: TeamFunction.LEGAL,
}


# The model/prompt version a built launch has in service; its evaluation runs measured it.
SERVING_VERSION = "prompt-v7"


def accountable_of(launch: Launch, kind: str) -> Stakeholder:
    return launch.areas.get(kind=kind).assignments.get(role=Role.ACCOUNTABLE).stakeholder


def team_for(function: str) -> Team:
    team, created = Team.objects.get_or_create(
        name=f"{TeamFunction(function).label} team", defaults={"function": function}
    )
    if created:
        seal(team)
    return team


@transaction.atomic
def ready_launch(*, owner=None, slug: str = "assistant", name: str = "Support assistant") -> Launch:
    """A launch from the Generative AI template with every fact filled in: every check passes
    except sign-offs, which no one has requested yet. Its evaluation run measured the version in
    service, today, on a golden set the owner keeps. Each area is staffed by people of the
    matching function and the stakeholder slots are filled, so requests route by themselves.
    The Accountables of model quality and operations agree the quality bar and the SLOs."""
    launch = _staffed_launch(owner=owner or UserFactory(), slug=slug, name=name)
    bar = launch.quality_bars.get()
    quality_bar_agree(
        actor=accountable_of(launch, AreaKind.MODEL_QUALITY).user, bar=bar, seen_version=fact_version(bar)
    )
    operations = accountable_of(launch, AreaKind.INFRASTRUCTURE).user
    for slo in launch.slos.all():
        slo_agree(actor=operations, slo=slo, seen_version=fact_version(slo))
    return launch


@access_synced_once()
def _staffed_launch(*, owner, slug: str, name: str) -> Launch:
    launch = launch_create_from_template(
        actor=owner,
        template="genai-feature",
        name=name,
        slug=slug,
        owner=owner,
        monthly_cost_budget=Decimal("10000"),
        daily_cost_alert=Decimal("500"),
    )
    with recorded_together():  # one ledger entry per launch for what is set up here
        Launch.objects.filter(pk=launch.pk).update(serving_version=SERVING_VERSION)
        launch.serving_version = SERVING_VERSION
        # A person confirmed the template's proposed exposures and response times.
        RolloutStage.objects.filter(launch=launch).update(proposed=[])
        SeverityLevel.objects.filter(launch=launch).update(proposed=[])
        for area in launch.areas.all():
            team = team_for(AREA_FUNCTIONS[area.kind])
            RaciAssignmentFactory(area=area, role=Role.ACCOUNTABLE, stakeholder=StakeholderFactory(teams=[team]))
            RaciAssignmentFactory(area=area, role=Role.RESPONSIBLE, stakeholder=StakeholderFactory(teams=[team]))
        for slot in LaunchStakeholder.objects.filter(launch=launch):
            slot.stakeholder = StakeholderFactory(teams=[team_for(slot.function)])
            slot.save()
        executives = team_for(TeamFunction.EXECUTIVE)
        if not executives.members.exists():
            StakeholderFactory(teams=[executives], title="VP Product")
        EvalRunFactory(quality_bar=launch.quality_bars.get(), samples=1000, failures=30)
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
        # What was set above without the services is recorded as if a service had set it.
        seal(launch, *launch.stages.all(), *launch.severity_levels.all(), *launch.stakeholder_slots.all())
        seal(*launch.slos.all())
    return launch


def approve_signoffs(launch: Launch, stage_name: str) -> list:
    """Request every sign-off ``stage_name`` needs and have the first addressee of each approve."""
    from approvals.services import signoff_decide, signoffs_request

    stage = launch.stages.get(name=stage_name)
    requests = signoffs_request(actor=launch.owner, launch=launch, stage=stage)
    for request in requests:
        for addressee in list(request.addressees.all())[: request.approvals_required]:
            signoff_decide(actor=addressee, signoff=request, outcome="approve")
    return requests


def launch_at(stage_name: str, **kwargs) -> Launch:
    """A ready launch moved through the gate, with real sign-offs, up to ``stage_name``."""
    return advance_to(ready_launch(**kwargs), stage_name)


def advance_to(launch: Launch, stage_name: str) -> Launch:
    """``launch`` moved on from the stage it is in (or from none) through the gate, with real
    sign-offs, up to ``stage_name`` (what ``launch_at`` does to a launch it builds)."""
    from approvals.services import stage_advance

    after = launch.current_stage.order if launch.current_stage_id else 0
    for stage in launch.stages.filter(order__gt=after).order_by("order"):
        approve_signoffs(launch, stage.name)
        stage_advance(actor=launch.owner, launch=launch, stage=stage)
        if stage.name == stage_name:
            break
    launch.refresh_from_db()
    return launch


def facts_of(launch: Launch) -> Launch:
    """``launch`` read afresh with everything the checklist reads, ready for ``evaluate``."""
    return with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()


def request_for(launch: Launch, owner, function: str, stage_name: str = "Internal", **kwargs):
    """The owner's request of ``function``'s sign-off for ``stage_name`` (routed through the RACI
    unless ``addressees`` is given)."""
    from approvals.services import signoffs_request

    return signoffs_request(
        actor=owner, launch=launch, stage=launch.stages.get(name=stage_name), functions=[function], **kwargs
    )[0]


def overdue_ml_request(launch):
    """The ML sign-off for Internal, addressed to the model-quality Responsible, due tomorrow:
    ``overdue_by`` gives a moment days past it."""
    from approvals.services import signoffs_request

    area = launch.areas.get(kind=AreaKind.MODEL_QUALITY)
    responsible = area.assignments.get(role=Role.RESPONSIBLE).stakeholder.user
    (request,) = signoffs_request(
        actor=launch.owner,
        launch=launch,
        stage=launch.stages.get(name="Internal"),
        functions=[TeamFunction.ML],
        addressees={TeamFunction.ML: [responsible]},
        due_date=timezone.localdate() + datetime.timedelta(days=1),
    )
    return request


def overdue_by(request, days: int) -> datetime.datetime:
    """Seven in the morning, ``days`` after the request's due date."""
    date = request.due_date + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(date, datetime.time(7)))
