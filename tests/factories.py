"""factory_boy factories for Preflight's models. Factories build valid rows; tests change what they check."""

import datetime
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from raci.choices import AreaKind, Role, TeamFunction
from raci.models import AreaOmission, LaunchStakeholder, RaciAssignment, ResponsibilityArea, Stakeholder, Team
from readiness.choices import (
    AccessLevel,
    Classification,
    FeedbackKind,
    NotifyScope,
    ReviewCadence,
    SloIndicator,
    StageKind,
)
from readiness.models import (
    SLO,
    DataAsset,
    EvalRun,
    FeedbackChannel,
    Launch,
    QualityBar,
    RollbackPlan,
    RolloutStage,
    Runbook,
    SeverityLevel,
)
from readiness.recording import record_facts, sealed

# The rows saved directly (or sealed) inside ``recorded_together``; None outside it.
_pending: ContextVar[dict | None] = ContextVar("rows_recorded_together", default=None)


def seal(*rows) -> None:
    """Record ``rows`` in the ledger as a service would have (readiness.recording's sealed facts),
    so a world built with factories verifies like one built through the services: one entry per
    launch, as a service that saves many rows records them together. Inside
    ``recorded_together`` the rows wait for the end of the block."""
    pending = _pending.get()
    if pending is not None:
        for row in rows:
            pending[type(row), row.pk] = row
        return
    by_launch: dict = {}
    for row in rows:
        launch = sealed(type(row)).launch_of(row)
        by_launch.setdefault(launch.pk if launch is not None else None, (launch, []))[1].append(row)
    for launch, launch_rows in by_launch.values():
        with transaction.atomic():
            record_facts(actor=None, launch=launch, rows=launch_rows)


def pending_seals() -> dict | None:
    """The rows waiting to be sealed at the end of ``recorded_together`` (None outside it): the
    tests' stand-in for the services (tests/conftest.py) adds the rows factories save."""
    return _pending.get()


@contextmanager
def recorded_together():
    """Inside, rows that factories save or ``seal`` names are recorded once, on the way out, with
    their values then: a builder that sets up a whole launch appends a few entries, not one per row.
    Services called inside still record their own rows at once, so call them after the block when
    they read what the ledger says of rows set up inside it."""
    if _pending.get() is not None:
        yield
        return
    token = _pending.set({})
    try:
        yield
        pending = _pending.get()
    finally:
        _pending.reset(token)
    seal(*pending.values())


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    function = TeamFunction.ML


class StakeholderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stakeholder
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    title = "Engineer"

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        if create and extracted:
            self.teams.set(extracted)
            seal(*Stakeholder.teams.through.objects.filter(stakeholder=self))


class LaunchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Launch

    name = factory.Sequence(lambda n: f"Launch {n}")
    slug = factory.Sequence(lambda n: f"launch-{n}")
    owner = factory.SubFactory(UserFactory)
    summary = "An assistant that answers questions."


class RolloutStageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RolloutStage

    launch = factory.SubFactory(LaunchFactory)
    kind = StageKind.INTERNAL
    name = factory.Sequence(lambda n: f"Stage {n}")
    order = factory.Sequence(lambda n: n + 1)
    exposure_percent = Decimal("1")


class QualityBarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QualityBar

    launch = factory.SubFactory(LaunchFactory)
    metric = "wrong_answers"
    failure_definition = "A factually wrong answer."
    max_failure_rate = Decimal("0.05")
    confidence_level = Decimal("0.95")
    min_samples = 100


class EvalRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvalRun

    quality_bar = factory.SubFactory(QualityBarFactory)
    samples = 1000
    failures = 30
    golden_set_name = "support-golden"
    golden_set_version = "v3"
    # A run counts only when it measured the version in service and its golden set has an owner.
    measured_version = factory.LazyAttribute(lambda run: run.quality_bar.launch.serving_version)
    golden_set_owner = factory.LazyAttribute(lambda run: run.quality_bar.launch.owner)
    human_reviewed = 100
    run_at = factory.LazyFunction(timezone.now)


class DataAssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DataAsset

    launch = factory.SubFactory(LaunchFactory)
    name = factory.Sequence(lambda n: f"Asset {n}")
    description = "Help-centre articles."
    classification = Classification.INTERNAL
    access_level = AccessLevel.ALL_EMPLOYEES


class SLOFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SLO

    launch = factory.SubFactory(LaunchFactory)
    indicator = SloIndicator.SUCCESS_RATE
    target = Decimal("99.5")
    alert_threshold = Decimal("99")
    dashboard_link = "https://grafana.example.com/d/assistant"


class SeverityLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SeverityLevel

    launch = factory.SubFactory(LaunchFactory)
    level = "P0"
    definition = "Whole service down."
    response_minutes = 15
    notify = NotifyScope.ALL_TEAMS


class RollbackPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RollbackPlan

    launch = factory.SubFactory(LaunchFactory)
    procedure = "Flip the feature flag off, then redeploy the previous prompt version."
    one_click = True
    last_rehearsed_at = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=10))
    max_rehearsal_age_days = 90


class RunbookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Runbook

    launch = factory.SubFactory(LaunchFactory)
    link = "https://wiki.example.com/runbooks/assistant"
    last_reviewed_at = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=5))


class FeedbackChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeedbackChannel

    launch = factory.SubFactory(LaunchFactory)
    kind = FeedbackKind.NEGATIVE_FEEDBACK
    review_cadence = ReviewCadence.WEEKLY


class ResponsibilityAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResponsibilityArea

    launch = factory.SubFactory(LaunchFactory)
    kind = AreaKind.CUSTOM
    name = factory.Sequence(lambda n: f"Area {n}")
    concerns = factory.LazyFunction(list)


class RaciAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RaciAssignment

    area = factory.SubFactory(ResponsibilityAreaFactory)
    stakeholder = factory.SubFactory(StakeholderFactory)
    role = Role.RESPONSIBLE


class LaunchStakeholderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LaunchStakeholder

    launch = factory.SubFactory(LaunchFactory)
    function = TeamFunction.LEGAL
    stakeholder = factory.SubFactory(StakeholderFactory)


class AreaOmissionFactory(factory.django.DjangoModelFactory):
    """A row as the service leaves it, without its ledger entry: for pages and invariants only."""

    class Meta:
        model = AreaOmission

    launch = factory.SubFactory(LaunchFactory)
    kind = AreaKind.DATA_RETRIEVAL
    reason = "No retrieval: the model answers from the prompt alone."
    recorded_by = factory.LazyAttribute(lambda omission: omission.launch.owner)
