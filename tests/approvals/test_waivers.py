"""Waivers: a failing checklist item accepted for one stage until a date, asked for by the owner and
decided by the item's Accountable or an executive, never by whoever asked.

The blocked launch is built once per module (``shared_blocked``); each test runs inside it in a
savepoint of its own and reads it back from the database (like ``setUpTestData``)."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from approvals.choices import WaiverStatus
from approvals.models import Waiver
from approvals.services import MAX_WAIVER_DAYS, GateRefused, stage_advance, waiver_decide, waiver_request
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from raci.choices import AreaKind, Role
from readiness.checklist import Status, evaluate, with_checklist_facts
from readiness.i18n import shown_date
from readiness.models import Launch
from readiness.services import fact_change, fact_version
from tests.builders import approve_signoffs, ready_launch
from tests.factories import LaunchFactory, RolloutStageFactory, UserFactory
from tests.helpers import archive, assert_refused_by_database, give_view

pytestmark = pytest.mark.django_db

JUSTIFICATION = "Rehearsal booked for next week; the flag-off path was tested in staging."


@pytest.fixture(autouse=True)
def ledger_stays_intact(db):
    yield
    assert verify().ok


def today() -> datetime.date:
    return timezone.localdate()


def in_days(days: int) -> datetime.date:
    return today() + datetime.timedelta(days=days)


def stage(launch: Launch, name: str):
    return launch.stages.get(name=name)


def accountable(launch: Launch, kind: str):
    """The area's Accountable, made sure to hold the view grant every RACI assignment carries."""
    user = launch.areas.get(kind=kind).assignments.get(role=Role.ACCOUNTABLE).stakeholder.user
    give_view(user, launch)
    return user


def item(launch: Launch, stage_name: str, key: str, *, now=None):
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    target = next(s for s in facts.stages.all() if s.name == stage_name)
    return next(r for r in evaluate(facts, target, now=now).results if r.key == key)


def build_blocked() -> int:
    """The owner's launch at Internal with Beta's sign-offs approved, kept out of Beta only by a
    stale rollback rehearsal; returns its primary key."""
    owner = UserFactory(username="owner", first_name="Olive", last_name="Owner")
    launch = ready_launch(owner=owner, slug="assistant")
    approve_signoffs(launch, "Internal")
    stage_advance(actor=launch.owner, launch=launch, stage=stage(launch, "Internal"))
    plan = launch.rollback_plan
    fact_change(
        actor=owner,
        fact=plan,
        seen_version=fact_version(plan),
        values={"last_rehearsed_at": today() - datetime.timedelta(days=200)},
    )
    approve_signoffs(launch, "Beta")
    return launch.pk


@pytest.fixture(scope="module")
def shared_blocked(django_db_setup, django_db_blocker) -> int:
    """The blocked launch built once per module in a transaction rolled back at its end; each test
    runs inside it in a savepoint of its own (like ``setUpTestData``)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_blocked()
        transaction.set_rollback(True)


@pytest.fixture
def launch(shared_blocked, db) -> Launch:
    """The shared blocked launch, read back from the database (so the ``viewer`` is on it)."""
    return Launch.objects.get(pk=shared_blocked)


@pytest.fixture
def owner(launch):
    return get_user_model().objects.get(pk=launch.owner_id)


@pytest.fixture
def blocked(launch):
    """At Internal with Beta's sign-offs approved, kept out of Beta only by a stale rollback rehearsal."""
    return launch


def ask(launch: Launch, owner, *, key: str = "rollback_plan", expires_on=None, stage_name: str = "Beta") -> Waiver:
    return waiver_request(
        actor=owner,
        launch=launch,
        stage=stage(launch, stage_name),
        check_key=key,
        justification=JUSTIFICATION,
        expires_on=expires_on or in_days(14),
    )


# Asking ------------------------------------------------------------------------------------


def test_the_owner_asks_for_a_waiver_of_a_failing_item(blocked, owner):
    assert item(blocked, "Beta", "rollback_plan").status == Status.FAIL

    waiver = ask(blocked, owner)

    assert (waiver.launch, waiver.stage, waiver.check_key, waiver.status, waiver.requested_by) == (
        blocked,
        stage(blocked, "Beta"),
        "rollback_plan",
        WaiverStatus.PENDING,
        owner,
    )
    assert waiver.justification == JUSTIFICATION
    assert waiver.expires_on == in_days(14)
    assert waiver.history.first().history_user == owner
    assert waiver.history.first().history_change_reason == "Waiver requested"


def test_a_pending_waiver_does_not_count(blocked, owner):
    ask(blocked, owner)

    assert item(blocked, "Beta", "rollback_plan").status == Status.FAIL


@pytest.mark.parametrize("days", [0, MAX_WAIVER_DAYS])
def test_a_waiver_may_run_from_today_up_to_the_longest_allowed(blocked, owner, days):
    assert ask(blocked, owner, expires_on=in_days(days)).expires_on == in_days(days)


@pytest.mark.parametrize("days", [-1, MAX_WAIVER_DAYS + 1])
def test_an_expiry_in_the_past_or_too_far_ahead_is_refused(blocked, owner, days):
    with pytest.raises(ValidationError) as refused:
        ask(blocked, owner, expires_on=in_days(days))

    assert "expires_on" in refused.value.message_dict
    assert not Waiver.objects.exists()


def test_sign_offs_cannot_be_waived(blocked, owner):
    with pytest.raises(ValidationError) as refused:
        ask(blocked, owner, key="stakeholders_approved")

    assert "check_key" in refused.value.message_dict
    assert not Waiver.objects.exists()


def test_an_unknown_item_cannot_be_waived(blocked, owner):
    with pytest.raises(ValidationError) as refused:
        ask(blocked, owner, key="vibes_check")

    assert "vibes_check" in refused.value.message_dict["check_key"][0]
    assert not Waiver.objects.exists()


@pytest.mark.parametrize("justification", ["", "   "])
def test_a_waiver_needs_a_justification(blocked, owner, justification):
    with pytest.raises(ValidationError) as refused:
        waiver_request(
            actor=owner,
            launch=blocked,
            stage=stage(blocked, "Beta"),
            check_key="rollback_plan",
            justification=justification,
            expires_on=in_days(14),
        )

    assert "justification" in refused.value.message_dict
    assert not Waiver.objects.exists()


def test_a_second_live_waiver_of_the_same_item_is_refused(blocked, owner):
    ask(blocked, owner)

    with pytest.raises(ValidationError):
        ask(blocked, owner, expires_on=in_days(30))

    assert Waiver.objects.count() == 1


def test_a_second_live_waiver_is_refused_with_an_error_naming_the_item(blocked, owner):
    ask(blocked, owner)

    with pytest.raises(ValidationError) as refused:
        ask(blocked, owner, expires_on=in_days(30))

    assert refused.value.message_dict == {
        "check_key": ["A waiver of this item for this stage is already pending or approved."]
    }


def test_a_new_waiver_may_be_asked_for_once_the_approved_one_expired(blocked, owner, monkeypatch):
    first = ask(blocked, owner)  # runs 14 days
    waiver_decide(actor=accountable(blocked, AreaKind.INFRASTRUCTURE), waiver=first, approve=True)
    later = timezone.localdate() + datetime.timedelta(days=20)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: later)

    second = ask(blocked, owner, expires_on=later + datetime.timedelta(days=7))

    assert second.status == WaiverStatus.PENDING
    monkeypatch.undo()
    assert verify().ok  # the lapsed waiver's record is untouched


def test_the_database_keeps_one_pending_waiver_per_item_and_stage(blocked, owner):
    first = ask(blocked, owner)
    twin = Waiver(
        launch=first.launch,
        stage=first.stage,
        check_key=first.check_key,
        justification="Again",
        expires_on=first.expires_on,
        requested_by=owner,
    )
    assert_refused_by_database(twin)


def test_a_new_waiver_may_be_asked_for_after_a_rejection(blocked, owner):
    first = ask(blocked, owner)
    waiver_decide(
        actor=accountable(blocked, AreaKind.INFRASTRUCTURE), waiver=first, approve=False, comment="Rehearse first."
    )

    second = ask(blocked, owner, expires_on=in_days(7))

    assert second.status == WaiverStatus.PENDING
    assert Waiver.objects.count() == 2


def test_only_the_owner_may_ask_for_a_waiver(blocked, viewer, outsider):
    with pytest.raises(PermissionDenied):
        ask(blocked, viewer)
    with pytest.raises(Http404):
        ask(blocked, outsider)

    assert not Waiver.objects.exists()


def test_a_stage_of_another_launch_is_refused(blocked, owner):
    elsewhere = RolloutStageFactory(launch=LaunchFactory(slug="elsewhere"), name="Beta")

    with pytest.raises(ValidationError) as refused:
        waiver_request(
            actor=owner,
            launch=blocked,
            stage=elsewhere,
            check_key="rollback_plan",
            justification=JUSTIFICATION,
            expires_on=in_days(14),
        )

    assert "stage" in refused.value.message_dict
    assert not Waiver.objects.exists()


# Deciding ----------------------------------------------------------------------------------


def test_the_accountable_for_the_item_area_approves_a_waiver(blocked, owner):
    infra = accountable(blocked, AreaKind.INFRASTRUCTURE)
    waiver = ask(blocked, owner)
    before = LedgerEntry.objects.count()

    decided = waiver_decide(actor=infra, waiver=waiver, approve=True, comment=" Fine for two weeks. ")

    assert decided.status == WaiverStatus.APPROVED
    assert decided.decided_by == infra
    assert decided.decided_at is not None
    assert decided.decision_comment == "Fine for two weeks."
    assert decided.history.first().history_user == infra
    assert decided.history.first().history_change_reason == "Waiver approved"
    entry = LedgerEntry.objects.get(sequence=before + 1)
    assert entry.event == LedgerEvent.WAIVER_DECIDED
    assert entry.actor == infra.username
    assert entry.payload == {
        "waiver": waiver.pk,
        "stage": "Beta",
        "item": "rollback_plan",
        "status": "approved",
        "expires on": in_days(14).isoformat(),
        "justification": JUSTIFICATION,
        "comment": "Fine for two weeks.",
        "decided at": Waiver.objects.get(pk=waiver.pk).decided_at.isoformat(),
    }


def test_the_accountable_rejects_a_waiver_with_a_comment(blocked, owner):
    infra = accountable(blocked, AreaKind.INFRASTRUCTURE)
    waiver = ask(blocked, owner)

    decided = waiver_decide(actor=infra, waiver=waiver, approve=False, comment="Rehearse first.")

    assert decided.status == WaiverStatus.REJECTED
    assert LedgerEntry.objects.order_by("-sequence").first().payload["status"] == "rejected"
    assert item(blocked, "Beta", "rollback_plan").status == Status.FAIL


def test_rejecting_a_waiver_needs_a_comment(blocked, owner):
    waiver = ask(blocked, owner)
    infra = accountable(blocked, AreaKind.INFRASTRUCTURE)
    before = LedgerEntry.objects.count()

    with pytest.raises(ValidationError) as refused:
        waiver_decide(actor=infra, waiver=waiver, approve=False, comment="  ")

    assert "comment" in refused.value.message_dict
    waiver.refresh_from_db()
    assert waiver.status == WaiverStatus.PENDING
    assert LedgerEntry.objects.count() == before


def test_an_executive_may_decide_any_waiver(blocked, owner, executive):
    waiver = ask(blocked, owner, key="raci_defined")  # no area's Accountable may waive this one

    decided = waiver_decide(actor=executive, waiver=waiver, approve=True)

    assert decided.status == WaiverStatus.APPROVED
    assert decided.decided_by == executive
    assert LedgerEntry.objects.order_by("-sequence").first().actor == "exec"


def test_accountables_of_other_areas_may_not_decide(blocked, owner, viewer):
    waiver = ask(blocked, owner)
    quality = accountable(blocked, AreaKind.MODEL_QUALITY)
    raci_waiver = ask(blocked, owner, key="raci_defined")
    infra = accountable(blocked, AreaKind.INFRASTRUCTURE)
    before = LedgerEntry.objects.count()

    for person, target in ((quality, waiver), (viewer, waiver), (infra, raci_waiver)):
        with pytest.raises(PermissionDenied):
            waiver_decide(actor=person, waiver=target, approve=True)

    assert set(Waiver.objects.values_list("status", flat=True)) == {WaiverStatus.PENDING}
    assert LedgerEntry.objects.count() == before


def test_people_who_may_not_see_the_launch_get_not_found(blocked, owner, outsider):
    waiver = ask(blocked, owner)

    with pytest.raises(Http404):
        waiver_decide(actor=outsider, waiver=waiver, approve=True)

    waiver.refresh_from_db()
    assert waiver.status == WaiverStatus.PENDING


@pytest.mark.parametrize("powers", ["superuser", "accountable"])
def test_the_requester_never_decides_their_own_waiver(blocked, owner, powers):
    if powers == "superuser":
        owner.is_superuser = True
        owner.save()
    else:
        assignment = blocked.areas.get(kind=AreaKind.INFRASTRUCTURE).assignments.get(role=Role.ACCOUNTABLE)
        from tests.factories import StakeholderFactory, seal

        assignment.stakeholder = StakeholderFactory(user=owner)
        assignment.save()
        seal(assignment)  # as a RACI change through the services records it
    waiver = ask(blocked, owner)
    before = LedgerEntry.objects.count()

    with pytest.raises(PermissionDenied):
        waiver_decide(actor=owner, waiver=waiver, approve=True)

    waiver.refresh_from_db()
    assert (waiver.status, waiver.decided_by) == (WaiverStatus.PENDING, None)
    assert LedgerEntry.objects.count() == before


def test_a_decided_waiver_cannot_be_decided_again(blocked, owner):
    infra = accountable(blocked, AreaKind.INFRASTRUCTURE)
    waiver = ask(blocked, owner)
    waiver_decide(actor=infra, waiver=waiver, approve=True)
    before = LedgerEntry.objects.count()

    with pytest.raises(ValidationError) as refused:
        waiver_decide(actor=infra, waiver=waiver, approve=False, comment="Changed my mind.")

    assert "status" in refused.value.message_dict
    waiver.refresh_from_db()
    assert waiver.status == WaiverStatus.APPROVED
    assert LedgerEntry.objects.count() == before


def test_waivers_on_an_archived_launch_are_refused(blocked, owner):
    infra = accountable(blocked, AreaKind.INFRASTRUCTURE)
    waiver = ask(blocked, owner)
    archive(blocked)
    before = LedgerEntry.objects.count()

    with pytest.raises(ValidationError) as refused_ask:
        ask(blocked, owner, key="feedback_loop")
    with pytest.raises(ValidationError) as refused_decision:
        waiver_decide(actor=infra, waiver=waiver, approve=True)

    assert "archived" in refused_ask.value.message_dict["launch"][0]
    assert "archived" in refused_decision.value.message_dict["launch"][0]
    waiver.refresh_from_db()
    assert waiver.status == WaiverStatus.PENDING
    assert Waiver.objects.count() == 1
    assert LedgerEntry.objects.count() == before


# Effect ------------------------------------------------------------------------------------


@pytest.fixture
def waived(blocked, owner):
    waiver = ask(blocked, owner)
    return waiver_decide(actor=accountable(blocked, AreaKind.INFRASTRUCTURE), waiver=waiver, approve=True)


def test_an_approved_waiver_makes_the_item_count_as_waived_and_says_so(blocked, waived):
    result = item(blocked, "Beta", "rollback_plan")

    assert result.status == Status.WAIVED
    assert not result.blocks
    approver = waived.decided_by.get_full_name()
    assert result.reasons[-1] == (f"Waived for Beta until {shown_date(in_days(14))} by {approver}: {JUSTIFICATION}")
    assert "last rehearsed 200 days ago" in result.reasons[0]


def test_a_waiver_counts_up_to_and_including_its_expiry_date_and_not_after(blocked, waived):
    last_day = timezone.now() + datetime.timedelta(days=14)
    day_after = timezone.now() + datetime.timedelta(days=15)

    assert item(blocked, "Beta", "rollback_plan", now=last_day).status == Status.WAIVED
    assert item(blocked, "Beta", "rollback_plan", now=day_after).status == Status.FAIL


def test_a_waiver_for_one_stage_does_not_apply_to_another(blocked, waived):
    assert item(blocked, "Full", "rollback_plan").status == Status.FAIL


def test_the_gate_refuses_before_the_waiver_and_lets_the_launch_through_after(blocked, owner):
    with pytest.raises(GateRefused) as refused:
        stage_advance(actor=owner, launch=blocked, stage=stage(blocked, "Beta"))
    assert [b.key for b in refused.value.readiness.blockers] == ["rollback_plan"]

    waiver = ask(blocked, owner)
    waiver_decide(actor=accountable(blocked, AreaKind.INFRASTRUCTURE), waiver=waiver, approve=True)
    readiness = stage_advance(actor=owner, launch=blocked, stage=stage(blocked, "Beta"))

    blocked.refresh_from_db()
    assert blocked.current_stage.name == "Beta"
    assert readiness.may_enter
    entry = LedgerEntry.objects.order_by("-sequence").first()
    assert entry.event == LedgerEvent.STAGE_ADVANCED
    assert entry.payload["checklist"]["rollback_plan"] == "waived"


@pytest.fixture
def unrequested(owner):
    """A second launch of the owner's, ready in every respect but sign-offs, none requested yet."""
    return ready_launch(owner=owner, slug="unrequested", name="Unrequested")


def test_an_approved_waiver_row_never_waives_sign_offs(unrequested, owner, executive):
    """Sign-offs are the four-eyes control; a waiver row made outside the service (admin, import)
    must not switch it off either."""
    launch = unrequested
    Waiver.objects.create(
        launch=launch,
        stage=stage(launch, "Internal"),
        check_key="stakeholders_approved",
        justification="Shipping anyway.",
        expires_on=in_days(14),
        requested_by=owner,
        status=WaiverStatus.APPROVED,
        decided_by=executive,
        decided_at=timezone.now(),
    )

    assert item(launch, "Internal", "stakeholders_approved").status == Status.FAIL
    # ...and verify_ledger names the row that no service wrote.
    problem = verify().problem
    Waiver.objects.all().delete()  # so the module's intact-ledger check after each test holds
    assert "has no ledger entry" in problem
