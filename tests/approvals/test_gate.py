"""The stage gate: a launch moves forward only when the stage's gating items pass and every sign-off
is approved and fresh; it goes back only by an explicit, recorded rollback.

The owner's launches in the states the tests start from (planning, Internal approved, at Internal
with Beta approved, in Beta) are built once per module (``shared_launches``); each test runs inside
them in a savepoint of its own and reads its launch back from the database (like ``setUpTestData``)."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404

from approvals.services import GateRefused, stage_advance, stage_rollback
from approvals.snapshot import fingerprint, launch_snapshot
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from raci.choices import AreaKind, Role
from readiness.checklist import with_checklist_facts
from readiness.history import delete_with_history
from readiness.models import Launch
from readiness.services import fact_change, fact_confirm, fact_version
from tests.builders import approve_signoffs, ready_launch
from tests.factories import LaunchFactory, RaciAssignmentFactory, RolloutStageFactory, StakeholderFactory, UserFactory
from tests.helpers import archive, give_view

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_intact(db):
    yield
    assert verify().ok


def stage(launch: Launch, name: str):
    return launch.stages.get(name=name)


def current_stage_name(launch: Launch) -> str | None:
    launch.refresh_from_db()
    return launch.current_stage.name if launch.current_stage else None


class Unchanged:
    """What a refused gate or rollback must leave alone: the stage, the ledger, the launch's history."""

    def __init__(self, launch: Launch) -> None:
        self.launch = launch
        self.state = self._state()

    def _state(self):
        launch = Launch.objects.get(pk=self.launch.pk)
        return launch.current_stage_id, LedgerEntry.objects.count(), launch.history.count()

    def check(self) -> None:
        assert self._state() == self.state


def accountable(launch: Launch, kind: str):
    """The area's Accountable, made sure to hold the view grant every RACI assignment carries."""
    user = launch.areas.get(kind=kind).assignments.get(role=Role.ACCOUNTABLE).stakeholder.user
    give_view(user, launch)
    return user


def build_launches() -> dict[str, int]:
    """The owner's launches, one per starting state, and a viewer on each; returns primary keys."""
    owner = UserFactory(username="owner", first_name="Olive", last_name="Owner")
    planning = ready_launch(owner=owner, slug="assistant")

    internal_approved = ready_launch(owner=owner, slug="internal-approved", name="Internal approved")
    approve_signoffs(internal_approved, "Internal")

    # At Internal (through the gate: a launch put in a stage any other way breaks the ledger), Beta's
    # sign-offs approved.
    beta_approved = ready_launch(owner=owner, slug="beta-approved", name="Beta approved")
    approve_signoffs(beta_approved, "Internal")
    stage_advance(actor=owner, launch=beta_approved, stage=stage(beta_approved, "Internal"))
    approve_signoffs(beta_approved, "Beta")

    # Moved to Beta through the gate (a launch put in a stage any other way breaks the ledger).
    in_beta = ready_launch(owner=owner, slug="in-beta", name="In beta")
    for name in ("Internal", "Beta"):
        approve_signoffs(in_beta, name)
        stage_advance(actor=owner, launch=in_beta, stage=stage(in_beta, name))

    launches = {
        "planning": planning,
        "internal_approved": internal_approved,
        "beta_approved": beta_approved,
        "in_beta": in_beta,
    }
    # The ``viewer`` of the conftest, on each launch: Informed on its first area, so they may view it.
    viewer = StakeholderFactory(user=UserFactory(username="viewer"))
    for launch in launches.values():
        RaciAssignmentFactory(area=launch.areas.first(), stakeholder=viewer, role=Role.INFORMED)
        give_view(viewer.user, launch)
    return {"viewer": viewer.user.pk} | {state: launch.pk for state, launch in launches.items()}


@pytest.fixture(scope="module")
def shared_launches(django_db_setup, django_db_blocker) -> dict[str, int]:
    """The launches built once per module in a transaction rolled back at its end; each test runs
    inside them in a savepoint of its own (like ``setUpTestData``)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_launches()
        transaction.set_rollback(True)


@pytest.fixture
def launch(shared_launches, db) -> Launch:
    """Ready in every respect but sign-offs, none requested yet."""
    return Launch.objects.get(pk=shared_launches["planning"])


@pytest.fixture
def owner(launch):
    return get_user_model().objects.get(pk=launch.owner_id)


@pytest.fixture
def viewer(shared_launches, db):
    """A stakeholder Informed on every launch of the module, who may view them but decides nothing."""
    return get_user_model().objects.get(pk=shared_launches["viewer"])


@pytest.fixture
def internal_approved(shared_launches, db):
    return Launch.objects.get(pk=shared_launches["internal_approved"])


@pytest.fixture
def in_internal_with_beta_approved(shared_launches, db):
    """At Internal (through the gate), Beta's sign-offs approved."""
    return Launch.objects.get(pk=shared_launches["beta_approved"])


@pytest.fixture
def in_beta(shared_launches, db):
    """Moved to Beta through the gate."""
    return Launch.objects.get(pk=shared_launches["in_beta"])


# Advancing ---------------------------------------------------------------------------------


def test_the_launch_advances_when_gating_items_pass_and_sign_offs_are_fresh(internal_approved, owner):
    launch = internal_approved

    readiness = stage_advance(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    assert readiness.may_enter
    assert current_stage_name(launch) == "Internal"
    latest = launch.history.first()
    assert latest.history_user == owner
    assert latest.history_change_reason == "Advanced from planning to Internal"
    assert latest.current_stage_id == stage(launch, "Internal").pk
    entry = LedgerEntry.objects.order_by("-sequence").first()
    assert entry.event == LedgerEvent.STAGE_ADVANCED
    assert entry.actor == "owner"
    assert entry.payload["from"] == "planning"
    assert entry.payload["to"] == "Internal"
    assert entry.payload["exposure percent"] == "1"
    assert entry.payload["checklist"]["stakeholders_approved"] == "pass"
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    internal = next(s for s in facts.stages.all() if s.name == "Internal")
    assert entry.snapshot_hash == fingerprint(launch_snapshot(facts, internal))


def test_the_launch_advances_stage_by_stage(in_internal_with_beta_approved, owner):
    launch = in_internal_with_beta_approved

    stage_advance(actor=owner, launch=launch, stage=stage(launch, "Beta"))

    assert current_stage_name(launch) == "Beta"
    assert launch.history.first().history_change_reason == "Advanced from Internal to Beta"
    entry = LedgerEntry.objects.order_by("-sequence").first()
    assert (entry.payload["from"], entry.payload["to"], entry.payload["exposure percent"]) == ("Internal", "Beta", "10")


def test_the_gate_refuses_without_sign_offs_and_changes_nothing(launch, owner):
    unchanged = Unchanged(launch)

    with pytest.raises(GateRefused) as refused:
        stage_advance(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    blockers = refused.value.readiness.blockers
    assert [b.key for b in blockers] == ["stakeholders_approved"]
    assert blockers[0].reasons == (
        "Legal sign-off has not been requested (personal data in 'Support tickets').",
        "Security sign-off has not been requested (personal data in 'Support tickets').",
        "Product sign-off has not been requested (Medium-risk default).",
        "ML sign-off has not been requested (Medium-risk default).",
    )
    assert refused.value.message_dict["stage"][0].startswith("May not enter Internal: Stakeholder approvals:")
    unchanged.check()
    assert current_stage_name(launch) is None


def test_the_gate_refuses_while_a_sign_off_is_pending_or_rejected(launch, owner):
    from approvals.services import signoff_decide, signoffs_request

    requests = {r.function: r for r in signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))}
    ml = requests["ml"]
    signoff_decide(actor=ml.addressees.get(), signoff=ml, outcome="reject", comment="Eval set too small.")
    unchanged = Unchanged(launch)

    with pytest.raises(GateRefused) as refused:
        stage_advance(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    (blocker,) = refused.value.readiness.blockers
    assert any("Product sign-off has 0 of 1 fresh approvals; waiting for" in r for r in blocker.reasons)
    assert any("ML sign-off was rejected by" in r and r.endswith("Eval set too small.") for r in blocker.reasons)
    unchanged.check()


def test_a_stale_approval_keeps_the_launch_out(internal_approved, owner):
    launch = internal_approved
    bar = launch.quality_bars.get()
    fact_change(actor=owner, fact=bar, seen_version=fact_version(bar), values={"max_failure_rate": Decimal("0.04")})
    unchanged = Unchanged(launch)

    with pytest.raises(GateRefused) as refused:
        stage_advance(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    blockers = {blocker.key: blocker for blocker in refused.value.readiness.blockers}
    assert set(blockers) == {"stakeholders_approved", "failure_rate_agreed"}  # changing the bar cleared it
    blocker = blockers["stakeholders_approved"]
    assert all(
        "is stale — facts changed since:" in r and "wrong_answers › max failure rate: 5 % → 4 %" in r
        for r in blocker.reasons
    )
    unchanged.check()


def test_an_expired_approval_keeps_the_launch_out(internal_approved, owner, settings):
    settings.SIGNOFF_MAX_AGE_DAYS = 0
    unchanged = Unchanged(internal_approved)

    with pytest.raises(GateRefused) as refused:
        stage_advance(actor=owner, launch=internal_approved, stage=stage(internal_approved, "Internal"))

    assert all("expired on" in r for r in refused.value.readiness.blockers[0].reasons)
    unchanged.check()


def test_a_failing_gating_item_keeps_the_launch_out_even_with_every_sign_off(in_internal_with_beta_approved, owner):
    launch = in_internal_with_beta_approved
    delete_with_history(launch.runbook, actor=launch.owner, reason="No runbook yet")
    unchanged = Unchanged(launch)

    with pytest.raises(GateRefused) as refused:
        stage_advance(actor=owner, launch=launch, stage=stage(launch, "Beta"))

    assert [b.key for b in refused.value.readiness.blockers] == ["incident_runbook"]
    assert refused.value.readiness.blockers[0].reasons == ("No incident runbook is recorded.",)
    unchanged.check()
    assert current_stage_name(launch) == "Internal"


def test_failing_items_that_do_not_gate_the_stage_do_not_block(internal_approved, owner):
    launch = internal_approved
    for channel in launch.feedback_channels.all():
        delete_with_history(channel, actor=launch.owner, reason="No channel yet")

    readiness = stage_advance(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    feedback = next(r for r in readiness.results if r.key == "feedback_loop")
    assert feedback.status == "fail" and not feedback.gating
    assert current_stage_name(launch) == "Internal"


def test_a_stage_can_name_its_own_gating_items(internal_approved, owner):
    launch = internal_approved
    internal = stage(launch, "Internal")
    internal.gating_checks = ["stakeholders_approved", "feedback_loop"]
    internal.save()
    for channel in launch.feedback_channels.all():
        delete_with_history(channel, actor=launch.owner, reason="No channel yet")
    unchanged = Unchanged(launch)

    with pytest.raises(GateRefused) as refused:
        stage_advance(actor=owner, launch=launch, stage=internal)

    blockers = refused.value.readiness.blockers
    assert [b.key for b in blockers] == ["stakeholders_approved", "feedback_loop"]
    # What gates the stage is part of what approvers approved, so changing it makes them stale.
    assert "stage › gating items" in " ".join(blockers[0].reasons)
    unchanged.check()


def test_a_stage_list_without_sign_offs_still_requires_them(launch, owner):
    internal = stage(launch, "Internal")
    internal.gating_checks = ["feedback_loop"]
    internal.save()

    with pytest.raises(GateRefused) as refused:
        stage_advance(actor=owner, launch=launch, stage=internal)

    assert [b.key for b in refused.value.readiness.blockers] == ["stakeholders_approved"]


def test_stages_are_entered_in_order(launch, owner):
    approve_signoffs(launch, "Beta")
    unchanged = Unchanged(launch)

    with pytest.raises(GateRefused) as refused:
        stage_advance(actor=owner, launch=launch, stage=stage(launch, "Beta"))

    assert refused.value.message_dict["stage"] == [
        "May not enter Beta: Beta is not the next stage; stages are entered in order and the next one is Internal."
    ]
    assert refused.value.readiness.blockers == []  # Beta's own checklist passes; only the order refuses
    unchanged.check()


def test_a_stage_whose_exposure_the_template_proposed_is_refused_until_a_person_confirms_it(launch, owner):
    launch.stages.filter(name="Internal").update(proposed=["exposure_percent"])  # as the template left it
    approve_signoffs(launch, "Internal")
    unchanged = Unchanged(launch)

    with pytest.raises(GateRefused) as refused:
        stage_advance(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    assert refused.value.message_dict["stage"] == [
        "May not enter Internal: Internal's exposure (1 %) is proposed by the template, not yet confirmed."
    ]
    assert refused.value.readiness.blockers == []  # every item and sign-off passes; only the proposal refuses
    unchanged.check()

    internal = stage(launch, "Internal")
    fact_confirm(actor=owner, fact=internal, seen_version=fact_version(internal))
    stage_advance(actor=owner, launch=launch, stage=stage(launch, "Internal"))
    assert current_stage_name(launch) == "Internal"


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("Internal", "Internal is not the next stage: it is before the current stage, Beta (the next one is Full)"),
        ("Beta", "Beta is not the next stage: it is the current stage (the next one is Full)"),
    ],
)
def test_the_launch_cannot_advance_to_the_current_or_an_earlier_stage(in_beta, owner, target, reason):
    unchanged = Unchanged(in_beta)

    with pytest.raises(GateRefused) as refused:
        stage_advance(actor=owner, launch=in_beta, stage=stage(in_beta, target))

    assert refused.value.message_dict["stage"][0] == f"May not enter {target}: {reason}; to go back, roll back instead."
    unchanged.check()


def test_the_order_refusal_comes_first_among_the_reasons(launch, owner):
    # Nothing approved on the launch: Full also lacks its sign-offs.

    with pytest.raises(GateRefused) as refused:
        stage_advance(actor=owner, launch=launch, stage=stage(launch, "Full"))

    lines = refused.value.message_dict["stage"]
    assert lines[0] == (
        "May not enter Full: Full is not the next stage; stages are entered in order and the next one is Internal."
    )
    assert lines[1].startswith("May not enter Full: Stakeholder approvals:")


def test_only_the_owner_may_advance(internal_approved, viewer, executive, outsider):
    launch = internal_approved
    product_accountable = accountable(launch, AreaKind.USER_EXPERIENCE)  # an addressee who may view
    unchanged = Unchanged(launch)

    for person in (viewer, product_accountable, executive):
        with pytest.raises(PermissionDenied):
            stage_advance(actor=person, launch=launch, stage=stage(launch, "Internal"))
    with pytest.raises(Http404):
        stage_advance(actor=outsider, launch=launch, stage=stage(launch, "Internal"))

    unchanged.check()


def test_an_archived_launch_cannot_advance(internal_approved, owner):
    launch = internal_approved
    archive(launch)
    unchanged = Unchanged(launch)

    with pytest.raises(ValidationError) as refused:
        stage_advance(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    assert "archived" in refused.value.message_dict["launch"][0]
    unchanged.check()


def test_a_stage_of_another_launch_is_refused(internal_approved, owner):
    elsewhere = RolloutStageFactory(launch=LaunchFactory(slug="elsewhere"), name="Internal")
    unchanged = Unchanged(internal_approved)

    with pytest.raises(ValidationError) as refused:
        stage_advance(actor=owner, launch=internal_approved, stage=elsewhere)

    assert "stage" in refused.value.message_dict
    unchanged.check()


# Rolling back ------------------------------------------------------------------------------


def test_the_owner_rolls_back_to_an_earlier_stage_with_a_reason(in_beta, owner):
    launch = stage_rollback(
        actor=owner, launch=in_beta, stage=stage(in_beta, "Internal"), reason="Spike in wrong answers."
    )

    assert current_stage_name(launch) == "Internal"
    latest = launch.history.first()
    assert latest.history_user == owner
    assert latest.history_change_reason == "Rolled back from Beta to Internal: Spike in wrong answers."
    assert latest.current_stage_id == stage(launch, "Internal").pk
    entry = LedgerEntry.objects.order_by("-sequence").first()
    assert entry.event == LedgerEvent.STAGE_ROLLED_BACK
    assert entry.actor == "owner"
    assert entry.payload == {"from": "Beta", "to": "Internal", "reason": "Spike in wrong answers."}


@pytest.mark.parametrize("kind", [AreaKind.INFRASTRUCTURE, AreaKind.MODEL_QUALITY])
def test_any_accountable_on_the_launch_may_roll_back(in_beta, kind):
    person = accountable(in_beta, kind)

    stage_rollback(actor=person, launch=in_beta, stage=stage(in_beta, "Internal"), reason="Paging storm.")

    assert current_stage_name(in_beta) == "Internal"
    assert in_beta.history.first().history_user == person
    entry = LedgerEntry.objects.order_by("-sequence").first()
    assert (entry.event, entry.actor) == (LedgerEvent.STAGE_ROLLED_BACK, person.username)


def test_others_may_not_roll_back(in_beta, viewer, executive, outsider):
    responsible = (
        in_beta.areas.get(kind=AreaKind.INFRASTRUCTURE).assignments.get(role=Role.RESPONSIBLE).stakeholder.user
    )
    give_view(responsible, in_beta)
    unchanged = Unchanged(in_beta)

    for person in (viewer, executive, responsible):
        with pytest.raises(PermissionDenied):
            stage_rollback(actor=person, launch=in_beta, stage=stage(in_beta, "Internal"), reason="Because.")
    with pytest.raises(Http404):
        stage_rollback(actor=outsider, launch=in_beta, stage=stage(in_beta, "Internal"), reason="Because.")

    unchanged.check()


@pytest.mark.parametrize("reason", ["", "   \n"])
def test_a_rollback_needs_a_reason(in_beta, owner, reason):
    unchanged = Unchanged(in_beta)

    with pytest.raises(ValidationError) as refused:
        stage_rollback(actor=owner, launch=in_beta, stage=stage(in_beta, "Internal"), reason=reason)

    assert "reason" in refused.value.message_dict
    unchanged.check()


@pytest.mark.parametrize("target", ["Beta", "Full"])
def test_a_rollback_only_goes_backwards(in_beta, owner, target):
    unchanged = Unchanged(in_beta)

    with pytest.raises(ValidationError) as refused:
        stage_rollback(actor=owner, launch=in_beta, stage=stage(in_beta, target), reason="Oops.")

    assert "stage" in refused.value.message_dict
    unchanged.check()


def test_a_launch_in_planning_has_nothing_to_roll_back(launch, owner):
    unchanged = Unchanged(launch)

    with pytest.raises(ValidationError):
        stage_rollback(actor=owner, launch=launch, stage=stage(launch, "Internal"), reason="Oops.")

    unchanged.check()


def test_an_archived_launch_cannot_be_rolled_back(in_beta, owner):
    archive(in_beta)
    unchanged = Unchanged(in_beta)

    with pytest.raises(ValidationError) as refused:
        stage_rollback(actor=owner, launch=in_beta, stage=stage(in_beta, "Internal"), reason="Tidying up.")

    assert "archived" in refused.value.message_dict["launch"][0]
    unchanged.check()
    assert current_stage_name(in_beta) == "Beta"


def test_after_a_rollback_the_launch_may_advance_again_on_fresh_sign_offs(in_internal_with_beta_approved, owner):
    launch = in_internal_with_beta_approved
    stage_advance(actor=owner, launch=launch, stage=stage(launch, "Beta"))
    stage_rollback(actor=owner, launch=launch, stage=stage(launch, "Internal"), reason="Latency regression.")

    stage_advance(actor=owner, launch=launch, stage=stage(launch, "Beta"))

    assert current_stage_name(launch) == "Beta"
    events = list(
        LedgerEntry.objects.exclude(event=LedgerEvent.FACT_RECORDED)
        .order_by("sequence")
        .values_list("event", flat=True)
    )[-3:]
    assert events == [LedgerEvent.STAGE_ADVANCED, LedgerEvent.STAGE_ROLLED_BACK, LedgerEvent.STAGE_ADVANCED]
