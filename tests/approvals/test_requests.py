"""Requesting sign-offs: one request per required function, routed through the RACI, with
Consulted people asked to acknowledge and Informed people recorded as informed."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from approvals.access import DECIDE_REQUEST
from approvals.choices import RequestStatus
from approvals.models import Acknowledgement, InformedNotice, SignoffRequest
from approvals.services import (
    acknowledge,
    policy_set_consultation,
    policy_set_requirement,
    signoff_decide,
    signoffs_request,
)
from approvals.snapshot import fingerprint, launch_snapshot
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from raci.choices import AreaKind, Role, TeamFunction
from raci.services import raci_assign
from readiness.access import VIEW_LAUNCH
from readiness.checklist import Status, evaluate
from readiness.models import Launch
from tests.builders import facts_of, request_for, team_for
from tests.factories import LaunchFactory, RolloutStageFactory, StakeholderFactory, TeamFactory, UserFactory
from tests.helpers import archive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_intact(db):
    yield
    assert verify().ok


def stage(launch: Launch, name: str):
    return launch.stages.get(name=name)


def sign_off_check(launch: Launch, stage_name: str):
    facts = facts_of(launch)
    target = next(s for s in facts.stages.all() if s.name == stage_name)
    return evaluate(facts, target).results[0]


def accountable(launch: Launch, kind: str):
    return launch.areas.get(kind=kind).assignments.get(role=Role.ACCOUNTABLE).stakeholder.user


def by_function(requests) -> dict[str, SignoffRequest]:
    return {request.function: request for request in requests}


def addressed(request: SignoffRequest) -> set:
    return set(request.addressees.all())


@pytest.fixture
def consulted(launch, owner):
    stakeholder = StakeholderFactory(user=UserFactory(username="consulted", first_name="Cora", last_name="Sulted"))
    raci_assign(area=launch.areas.get(kind=AreaKind.POLICY), stakeholder=stakeholder, role=Role.CONSULTED, actor=owner)
    return stakeholder.user


# One request per required function ---------------------------------------------------------


def test_owner_requests_one_sign_off_per_required_function(launch, owner):
    requests = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    # Product and ML by default; legal and security for the personal support tickets.
    assert sorted(r.function for r in requests) == ["legal", "ml", "product", "security"]
    for request in requests:
        assert request.status == RequestStatus.PENDING
        assert request.requested_by == owner
        assert request.approvals_required == 1
        assert request.stage == stage(launch, "Internal")


def test_a_request_is_recorded_in_history_and_in_the_ledger(launch, owner):
    internal = stage(launch, "Internal")
    before = LedgerEntry.objects.count()
    due = timezone.localdate() + datetime.timedelta(days=7)

    requests = by_function(signoffs_request(actor=owner, launch=launch, stage=internal, due_date=due))

    product = requests["product"]
    created = product.history.earliest()
    assert created.history_type == "+"
    assert created.history_user == owner
    assert created.history_change_reason == "Requested for Internal"
    assert all(row.history_user == owner for row in product.history.all())
    entries = list(LedgerEntry.objects.filter(sequence__gt=before))
    assert [e.event for e in entries] == [LedgerEvent.REQUESTED] * 4
    entry = next(e for e in entries if e.payload["function"] == "product")
    assert entry.actor == "owner"
    assert entry.launch_slug == "assistant"
    assert entry.payload == {
        "request": product.pk,
        "stage": "Internal",
        "stage id": internal.pk,
        "function": "product",
        "approvals required": 1,
        "addressees": [accountable(launch, AreaKind.USER_EXPERIENCE).username],
        "due date": due.isoformat(),
        "replaces": None,
    }
    facts = facts_of(launch)
    assert entry.snapshot_hash == fingerprint(
        launch_snapshot(facts, next(s for s in facts.stages.all() if s.pk == internal.pk))
    )


def test_only_the_named_functions_are_requested_when_given(launch, owner):
    requests = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Beta"), functions=["legal", "data"])

    assert sorted(r.function for r in requests) == ["data", "legal"]
    assert SignoffRequest.objects.count() == 2


@pytest.mark.parametrize("function", ["qa", "marketing"])
def test_a_function_the_stage_does_not_require_is_refused(launch, owner, function):
    before = LedgerEntry.objects.count()

    with pytest.raises(ValidationError) as refused:
        signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"), functions=["ml", function])

    assert function in refused.value.message_dict["functions"][0]
    assert not SignoffRequest.objects.exists()
    assert LedgerEntry.objects.count() == before


def test_due_date_and_message_are_kept_on_the_request(launch, owner):
    today = timezone.localdate()

    requests = signoffs_request(
        actor=owner, launch=launch, stage=stage(launch, "Internal"), due_date=today, message="Please look by Friday."
    )

    for request in requests:
        request.refresh_from_db()
        assert request.due_date == today
        assert request.message == "Please look by Friday."


def test_a_due_date_in_the_past_is_refused(launch, owner):
    before = LedgerEntry.objects.count()

    with pytest.raises(ValidationError) as refused:
        signoffs_request(
            actor=owner,
            launch=launch,
            stage=stage(launch, "Internal"),
            due_date=timezone.localdate() - datetime.timedelta(days=1),
        )

    assert "due_date" in refused.value.message_dict
    assert not SignoffRequest.objects.exists()
    assert LedgerEntry.objects.count() == before


# Routing -----------------------------------------------------------------------------------


def test_requests_go_to_the_accountable_of_the_matching_area_when_they_serve_that_function(launch, owner):
    requests = by_function(signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Beta")))

    assert addressed(requests["product"]) == {accountable(launch, AreaKind.USER_EXPERIENCE)}
    assert addressed(requests["ml"]) == {accountable(launch, AreaKind.MODEL_QUALITY)}
    assert addressed(requests["data"]) == {accountable(launch, AreaKind.DATA_RETRIEVAL)}
    # The policy area's Accountable is a lawyer, so legal goes to them rather than the legal slot.
    assert addressed(requests["legal"]) == {accountable(launch, AreaKind.POLICY)}


def test_requests_fall_back_to_the_launch_slot_when_the_accountable_serves_another_function(launch, owner):
    security_slot = launch.stakeholder_slots.get(function=TeamFunction.SECURITY).stakeholder.user

    (request,) = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Beta"), functions=["security"])

    assert accountable(launch, AreaKind.POLICY) not in addressed(request)
    assert addressed(request) == {security_slot}


def test_requests_fall_back_to_active_team_members_when_there_is_no_area_or_slot(launch, owner):
    qa = TeamFactory(name="QA", function=TeamFunction.QA)
    testers = [StakeholderFactory(teams=[qa]).user for _ in range(2)]
    retired = StakeholderFactory(teams=[qa], user=UserFactory(is_active=False)).user
    policy_set_requirement(actor=owner, stage=stage(launch, "Internal"), function="qa", approvals_required=1)

    (request,) = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"), functions=["qa"])

    assert addressed(request) == set(testers)
    assert retired not in addressed(request)


def test_the_requester_is_never_a_default_addressee(launch, owner):
    product_team = team_for(TeamFunction.PRODUCT)
    me = StakeholderFactory(user=owner, teams=[product_team])
    ux = launch.areas.get(kind=AreaKind.USER_EXPERIENCE)
    assignment = ux.assignments.get(role=Role.ACCOUNTABLE)
    assignment.stakeholder = me
    assignment.save()

    (request,) = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"), functions=["product"])

    assert owner not in addressed(request)
    others = {s.user for s in product_team.members.exclude(user=owner)}
    assert addressed(request) == others


def test_named_addressees_replace_the_routed_ones(launch, owner, addressee, delegate):
    (request,) = signoffs_request(
        actor=owner,
        launch=launch,
        stage=stage(launch, "Beta"),
        functions=["legal"],
        addressees={"legal": [addressee, delegate]},
    )

    assert addressed(request) == {addressee, delegate}


def test_the_owner_cannot_address_a_request_to_themselves(launch, owner):
    with pytest.raises(ValidationError) as refused:
        signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"), addressees={"product": [owner]})

    assert "addressees" in refused.value.message_dict
    assert not SignoffRequest.objects.exists()


def test_deactivated_people_cannot_be_asked(launch, owner, addressee):
    addressee.is_active = False
    addressee.save()

    with pytest.raises(ValidationError) as refused:
        signoffs_request(
            actor=owner,
            launch=launch,
            stage=stage(launch, "Beta"),
            functions=["legal"],
            addressees={"legal": [addressee]},
        )

    assert "addressees" in refused.value.message_dict
    assert not SignoffRequest.objects.exists()


def test_a_function_with_nobody_to_ask_is_refused(launch, owner):
    policy_set_requirement(actor=owner, stage=stage(launch, "Internal"), function="qa", approvals_required=1)

    with pytest.raises(ValidationError) as refused:
        signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    assert "QA" in refused.value.message_dict["addressees"][0]
    assert not SignoffRequest.objects.exists()


def test_addressees_may_view_the_launch_and_decide_the_request(launch, owner, addressee, delegate):
    (request,) = signoffs_request(
        actor=owner,
        launch=launch,
        stage=stage(launch, "Beta"),
        functions=["legal"],
        addressees={"legal": [addressee]},
    )

    assert addressee.has_perm(VIEW_LAUNCH, launch)
    assert addressee.has_perm(DECIDE_REQUEST, request)
    assert not delegate.has_perm(DECIDE_REQUEST, request)


# Who may request ---------------------------------------------------------------------------


def test_only_the_owner_may_request_sign_offs(launch, viewer, outsider):
    with pytest.raises(PermissionDenied):
        signoffs_request(actor=viewer, launch=launch, stage=stage(launch, "Internal"))
    with pytest.raises(Http404):
        signoffs_request(actor=outsider, launch=launch, stage=stage(launch, "Internal"))

    assert not SignoffRequest.objects.exists()


def test_sign_offs_cannot_be_requested_on_an_archived_launch(launch, owner):
    archive(launch)
    before = LedgerEntry.objects.count()

    with pytest.raises(ValidationError) as refused:
        signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    assert "archived" in refused.value.message_dict["launch"][0]
    assert not SignoffRequest.objects.exists()
    assert LedgerEntry.objects.count() == before


def test_a_stage_of_another_launch_is_refused(launch, owner):
    elsewhere = RolloutStageFactory(launch=LaunchFactory(slug="elsewhere"), name="Internal")

    with pytest.raises(ValidationError) as refused:
        signoffs_request(actor=owner, launch=launch, stage=elsewhere)

    assert "stage" in refused.value.message_dict
    assert not SignoffRequest.objects.exists()


# Requesting again --------------------------------------------------------------------------


def test_requesting_again_supersedes_the_open_request(launch, owner):
    internal = stage(launch, "Internal")
    first = by_function(signoffs_request(actor=owner, launch=launch, stage=internal))["product"]

    second = by_function(signoffs_request(actor=owner, launch=launch, stage=internal, functions=["product"]))["product"]
    first.refresh_from_db()

    assert first.status == RequestStatus.SUPERSEDED
    assert first.closed_at is not None
    assert first.history.first().history_change_reason == "Requested again"
    assert first.history.first().history_user == owner
    assert second.status == RequestStatus.PENDING
    assert (
        SignoffRequest.objects.filter(stage=internal, function="product").exclude(status=RequestStatus.SUPERSEDED).get()
        == second
    )
    assert LedgerEntry.objects.filter(event=LedgerEvent.REQUESTED, payload__function="product").count() == 2


def test_requesting_again_supersedes_an_approved_request_too(launch, owner):
    internal = stage(launch, "Internal")
    first = by_function(signoffs_request(actor=owner, launch=launch, stage=internal))["ml"]
    signoff_decide(actor=first.addressees.get(), signoff=first, outcome="approve")

    signoffs_request(actor=owner, launch=launch, stage=internal, functions=["ml"])
    first.refresh_from_db()

    assert first.status == RequestStatus.SUPERSEDED
    assert any("ML sign-off has 0 of 1 fresh approvals" in r for r in sign_off_check(launch, "Internal").reasons)


# Consulted and Informed --------------------------------------------------------------------


def test_consulted_people_are_asked_to_acknowledge_and_informed_people_are_recorded(launch, owner, consulted, viewer):
    internal = stage(launch, "Internal")

    signoffs_request(actor=owner, launch=launch, stage=internal)

    ack = Acknowledgement.objects.get()
    assert (ack.user, ack.stage, ack.launch, ack.requested_by, ack.acknowledged_at) == (
        consulted,
        internal,
        launch,
        owner,
        None,
    )
    notice = InformedNotice.objects.get()
    assert (notice.user, notice.stage, notice.launch) == (viewer, internal, launch)
    assert ack.history.first().history_user == owner
    assert ack.history.first().history_change_reason == "Consulted: asked to acknowledge"
    assert notice.history.first().history_user == owner


def test_requesting_again_does_not_ask_consulted_people_twice(launch, owner, consulted, viewer):
    internal = stage(launch, "Internal")

    signoffs_request(actor=owner, launch=launch, stage=internal)
    signoffs_request(actor=owner, launch=launch, stage=internal)

    assert Acknowledgement.objects.count() == 1
    assert InformedNotice.objects.count() == 1


def test_every_history_row_of_acknowledgements_and_notices_names_the_requester(launch, owner, consulted, viewer):
    signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))

    ack, notice = Acknowledgement.objects.get(), InformedNotice.objects.get()

    assert [(h.history_user, h.history_change_reason) for h in ack.history.all()] == [
        (owner, "Consulted: asked to acknowledge")
    ]
    assert [(h.history_user, h.history_change_reason) for h in notice.history.all()] == [
        (owner, "Informed of the sign-off request")
    ]


def test_unacknowledged_consultation_does_not_block_unless_the_policy_says_so(launch, owner, consulted):
    from tests.builders import approve_signoffs

    approve_signoffs(launch, "Internal")

    assert sign_off_check(launch, "Internal").status == Status.PASS


def test_a_policy_can_make_consulted_acknowledgement_block_the_sign_off_check(launch, owner, consulted):
    from tests.builders import approve_signoffs

    internal = stage(launch, "Internal")
    policy = policy_set_consultation(actor=owner, stage=internal, must_acknowledge=True)
    approve_signoffs(launch, "Internal")

    check = sign_off_check(launch, "Internal")
    assert check.status == Status.FAIL
    assert check.reasons == ("Cora Sulted (Consulted) has not acknowledged entering Internal.",)
    assert policy.history.first().history_user == owner
    assert policy.history.first().history_change_reason == "Consultation rule changed"

    before = LedgerEntry.objects.count()
    ack = acknowledge(
        actor=consulted, acknowledgement=Acknowledgement.objects.get(user=consulted), comment=" Fine by me. "
    )

    assert ack.acknowledged_at is not None
    assert ack.comment == "Fine by me."
    assert ack.history.first().history_user == consulted
    assert ack.history.first().history_change_reason == "Acknowledged"
    entry = LedgerEntry.objects.get(sequence=before + 1)
    assert entry.event == LedgerEvent.ACKNOWLEDGED
    assert entry.actor == "consulted"
    assert {key: entry.payload[key] for key in ("stage", "comment")} == {"stage": "Internal", "comment": "Fine by me."}
    assert entry.payload["acknowledgement"] and entry.payload["acknowledged at"]
    assert sign_off_check(launch, "Internal").status == Status.PASS


def test_only_the_consulted_person_may_acknowledge(launch, owner, consulted, viewer):
    signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))
    ack = Acknowledgement.objects.get()
    before = LedgerEntry.objects.count()

    with pytest.raises(PermissionDenied):
        acknowledge(actor=viewer, acknowledgement=ack)

    ack.refresh_from_db()
    assert ack.acknowledged_at is None
    assert LedgerEntry.objects.count() == before


# --- addressees must be able to sign off for the function; one open request, one acknowledgement ---


def test_a_named_addressee_outside_the_function_is_refused(launch, owner):
    stranger = UserFactory(username="stranger")
    ledgered = list(LedgerEntry.objects.values_list("pk", flat=True))  # the builder's agreements
    with pytest.raises(ValidationError) as refused:
        request_for(launch, owner, "ml", addressees={"ml": [stranger]})
    assert "cannot sign off for ML" in refused.value.message_dict["addressees"][0]
    assert list(LedgerEntry.objects.values_list("pk", flat=True)) == ledgered


def test_a_request_needing_more_approvals_than_people_asked_is_refused(launch, owner, addressee):
    internal = launch.stages.get(name="Internal")
    policy_set_requirement(actor=owner, stage=internal, function="legal", approvals_required=2)
    with pytest.raises(ValidationError) as refused:
        request_for(launch, owner, "legal", addressees={"legal": [addressee]})
    assert refused.value.message_dict["addressees"] == [
        "The Legal sign-off needs 2 approvals; only 1 people are asked."
    ]


def test_a_withdrawn_then_rerequested_function_keeps_one_open_request(launch, owner):
    first = request_for(launch, owner, "ml")
    second = request_for(launch, owner, "ml")
    first.refresh_from_db()
    assert first.status == RequestStatus.SUPERSEDED and second.status == RequestStatus.PENDING
    assert launch.signoff_requests.exclude(status=RequestStatus.SUPERSEDED).count() == 1


def test_an_acknowledgement_is_given_once(launch, owner):
    consulted = StakeholderFactory(user=UserFactory(username="consulted"))
    raci_assign(area=launch.areas.first(), stakeholder=consulted, role=Role.CONSULTED, actor=owner)
    request_for(launch, owner, "ml")
    ack = launch.acknowledgements.get(user=consulted.user)
    acknowledge(actor=consulted.user, acknowledgement=ack, comment="Fine by support.")
    with pytest.raises(ValidationError, match="Already acknowledged"):
        acknowledge(actor=consulted.user, acknowledgement=ack, comment="Changed my mind.")
    ack.refresh_from_db()
    assert ack.comment == "Fine by support."
