"""Issue 3, point 7: who may call which service.

Every public service of ``approvals.services`` and the permission-bearing services of
``raci.services`` is called by every role, from a state in which the call succeeds for the right
person. The expected outcome of each cell is written down in ``EXPECTED``:

    "ok"  the call succeeds (and changes what it should);
    403   ``PermissionDenied``: the actor may know the launch but may not do this;
    404   ``Http404``: the actor may not know the launch exists.

A refused call must leave the database exactly as it was (no ledger entry, no history row, no
permission granted, no status changed). The cells, and who sees which launch, run in
``test_permission_cells`` against one world built per module.

Roles
-----
owner           owns the launch (view + change, granted by ``launch_create``)
addressee       a Legal approver a pending request is addressed to (view, granted by the request)
delegate        a Legal colleague the addressee explicitly delegated that request to (view)
other_approver  a Legal approver who is a stakeholder on *another* launch only
viewer          a stakeholder Informed on the launch (view only)
executive       a member of an executive team (the one definition of an executive)
outsider        an active user with no role anywhere
anonymous       ``AnonymousUser()``

Three more columns, beyond the eight of the issue, because the services single them out:

consulted       Consulted on the Policy area (via ``raci_assign``) — the only one who may acknowledge
accountable     Accountable on the Policy area (via ``raci_assign``) — may roll back, may decide a
                waiver of a Policy item; *not* an addressee
superuser       ``is_superuser`` with no role on the launch: Django lets a superuser pass every
                ``has_perm`` check (so they may do what the owner does), but the four-eyes rules
                (deciding requests and waivers, acknowledging for someone) do not bend for them.
"""

from __future__ import annotations

import datetime
import functools
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone
from guardian.shortcuts import assign_perm

from approvals.access import DECIDE_REQUEST
from approvals.choices import DecisionOutcome, RequestStatus, WaiverStatus
from approvals.models import (
    Acknowledgement,
    SignoffDecision,
    SignoffDelegation,
    SignoffRequest,
    SignoffRequirement,
    StagePolicy,
    Waiver,
)
from approvals.services import (
    acknowledge,
    policy_set_consultation,
    policy_set_requirement,
    signoff_decide,
    signoff_delegate,
    signoff_withdraw,
    signoffs_request,
    stage_advance,
    stage_rollback,
    waiver_decide,
    waiver_request,
)
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from raci.choices import AreaKind, Role, TeamFunction
from raci.models import LaunchStakeholder, RaciAssignment
from raci.services import launch_stakeholder_fill, raci_assign
from readiness.access import can_view
from readiness.history import delete_with_history
from readiness.models import Launch
from readiness.services import fact_version
from tests.builders import approve_signoffs, team_for
from tests.factories import (
    LaunchStakeholderFactory,
    StakeholderFactory,
    TeamFactory,
    UserFactory,
)

OK = "ok"

# Owner-only actions (``require_change``): the owner — and a superuser, whom Django grants every
# permission — may; anyone who can see the launch gets 403; anyone who cannot gets 404.
OWNER_ONLY = {
    "owner": OK,
    "addressee": 403,
    "delegate": 403,
    "other_approver": 404,
    "viewer": 403,
    "consulted": 403,
    "accountable": 403,
    "executive": 403,  # executives view every launch, but change none
    "superuser": OK,  # not a four-eyes control: admins may administer a launch
    "outsider": 404,
    "anonymous": 404,
}

EXPECTED: dict[str, dict[str, object]] = {
    "policy_set_requirement": OWNER_ONLY,
    "policy_set_consultation": OWNER_ONLY,
    "signoffs_request": OWNER_ONLY,
    "signoff_withdraw": OWNER_ONLY,
    "signoff_decide": {
        "owner": 403,  # raised the request: four eyes
        "addressee": OK,  # still may after delegating; either's later decision supersedes the other's
        "delegate": OK,  # decides on behalf of the addressee who delegated
        "other_approver": 404,  # a Legal approver, but not on this launch: may not know of it
        "viewer": 403,
        "consulted": 403,
        "accountable": 403,  # Accountable on Policy, yet the request was addressed to someone else
        "executive": 403,  # sees everything, decides only what is addressed to them
        "superuser": 403,  # no way around four eyes
        "outsider": 404,
        "anonymous": 404,
    },
    "signoff_delegate": {
        "owner": 403,
        "addressee": OK,
        "delegate": 403,  # delegates of one request cannot re-delegate another
        "other_approver": 404,
        "viewer": 403,
        "consulted": 403,
        "accountable": 403,
        "executive": 403,
        "superuser": 403,  # only an addressee hands over their own decision
        "outsider": 404,
        "anonymous": 404,
    },
    "acknowledge": {
        "owner": 403,
        "addressee": 403,
        "delegate": 403,
        "other_approver": 404,
        "viewer": 403,  # Informed, not Consulted
        "consulted": OK,
        "accountable": 403,
        "executive": 403,
        "superuser": 403,  # nobody acknowledges for someone else
        "outsider": 404,
        "anonymous": 404,
    },
    "stage_advance": OWNER_ONLY,  # the gate still needs everyone else's approvals
    "stage_rollback": {
        "owner": OK,
        "addressee": 403,
        "delegate": 403,
        "other_approver": 404,
        "viewer": 403,
        "consulted": 403,
        "accountable": OK,  # "always allowed to the owner and the launch's Accountables"
        "executive": 403,
        # Surprising next to stage_advance (superuser OK): rollback checks the owner id and the
        # RACI, not has_perm, so a superuser may advance a launch but not roll it back.
        "superuser": 403,
        "outsider": 404,
        "anonymous": 404,
    },
    "waiver_request": OWNER_ONLY,
    "waiver_decide": {
        "owner": 403,  # requested the waiver: four eyes
        "addressee": 403,
        "delegate": 403,
        "other_approver": 404,
        "viewer": 403,
        "consulted": 403,  # Consulted on Policy is not Accountable for it
        "accountable": OK,  # Accountable of the Policy area, which owns the waived item
        "executive": OK,  # executives may approve any waiver
        "superuser": 403,  # neither the area's Accountable nor an executive
        "outsider": 404,
        "anonymous": 404,
    },
    "raci_assign": OWNER_ONLY,
    "launch_stakeholder_fill": OWNER_ONLY,
}

ROLES = list(OWNER_ONLY)


def test_the_matrix_is_complete():
    assert set(EXPECTED) == set(SCENARIOS)
    for service, row in EXPECTED.items():
        assert list(row) == ROLES, service
        assert all(outcome in (OK, 403, 404) for outcome in row.values()), service
        assert OK in row.values(), f"nobody may call {service}"
    for role in ("other_approver", "outsider", "anonymous"):
        assert all(row[role] == 404 for row in EXPECTED.values()), f"{role} must not learn the launch exists"


# People and state ---------------------------------------------------------------------------


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def policy_area(launch):
    return launch.areas.get(kind=AreaKind.POLICY)


@pytest.fixture
def consulted(launch, owner, policy_area):
    stakeholder = StakeholderFactory(user=UserFactory(username="consulted"))
    raci_assign(area=policy_area, stakeholder=stakeholder, role=Role.CONSULTED, actor=owner)
    return stakeholder.user


@pytest.fixture
def accountable(launch, owner, policy_area):
    """The Accountable of the Policy area, replacing the builder's (the RACI allows exactly one).
    In Compliance (an Accountable for policy must serve legal, compliance or security), so Legal
    requests are never routed to them (they go to the Legal slot instead)."""
    for assignment in policy_area.assignments.filter(role=Role.ACCOUNTABLE):
        delete_with_history(assignment, actor=owner, reason="Replaced")
    stakeholder = StakeholderFactory(
        user=UserFactory(username="accountable"), teams=[team_for(TeamFunction.COMPLIANCE)]
    )
    raci_assign(area=policy_area, stakeholder=stakeholder, role=Role.ACCOUNTABLE, actor=owner)
    return stakeholder.user


@pytest.fixture
def world(
    launch, owner, addressee, delegate, other_approver, viewer, consulted, accountable, executive, superuser, outsider
):
    """The launch with a pending Legal request for Full addressed to ``addressee``, who delegated
    it to ``delegate``. Requesting it asked ``consulted`` to acknowledge Full."""
    full = launch.stages.get(name="Full")
    [request] = signoffs_request(
        actor=owner,
        launch=launch,
        stage=full,
        functions=[TeamFunction.LEGAL],
        addressees={TeamFunction.LEGAL: [addressee]},
    )
    delegation = signoff_delegate(actor=addressee, signoff=request, delegate=delegate, reason="On holiday")
    assert delegation.delegator == addressee and delegation.delegate == delegate
    people = {
        "owner": owner,
        "addressee": addressee,
        "delegate": delegate,
        "other_approver": other_approver,
        "viewer": viewer,
        "consulted": consulted,
        "accountable": accountable,
        "executive": executive,
        "superuser": superuser,
        "outsider": outsider,
        "anonymous": AnonymousUser(),
    }
    assert list(people) == ROLES
    return SimpleNamespace(launch=launch, owner=owner, request=request, people=people, stage=launch.stages.get)


@functools.cache
def _row_counts_query() -> tuple[list[str], str, tuple]:
    """One SELECT of the row count of every model of the apps ``db_state`` watches (each from its
    default manager's query), compiled once per process: the counts cost one query, not sixty."""
    labels, columns, params = [], [], []
    for app in ("auth", "guardian", "readiness", "raci", "approvals"):
        for model in apps.get_app_config(app).get_models():
            sql, model_params = model._default_manager.order_by().values("pk").query.sql_with_params()
            labels.append(model._meta.label)
            columns.append(f"(SELECT COUNT(*) FROM ({sql}) counted)")
            params.extend(model_params)
    return labels, "SELECT " + ", ".join(columns), tuple(params)


def db_state() -> dict:
    """Row counts of every model (history tables, ledger, object permissions included) plus the
    fields services update in place."""
    labels, sql, params = _row_counts_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        state = dict(zip(labels, cursor.fetchone(), strict=True))
    state["requests"] = sorted(SignoffRequest.objects.values_list("pk", "status"))
    state["waivers"] = sorted(Waiver.objects.values_list("pk", "status", "decided_by"))
    state["launches"] = sorted(Launch.objects.values_list("pk", "current_stage"))
    state["acks"] = sorted(Acknowledgement.objects.values_list("pk", "acknowledged_at"))
    state["policies"] = sorted(StagePolicy.objects.values_list("pk", "consulted_must_acknowledge"))
    state["requirements"] = sorted(SignoffRequirement.objects.values_list("pk", "approvals_required"))
    state["slots"] = sorted(LaunchStakeholder.objects.values_list("pk", "stakeholder"))
    return state


# One scenario per service: prepare the state, return the call and what success looks like. -----

SCENARIOS = {}
# Each service's scenario in two parts: ``prepare`` (or None), which only writes the world up to
# where the call is made, and ``make``, which returns the call and its check on the world as it
# then reads. ``test_permission_cells`` prepares once for all of a service's cells.
PREPARATIONS = {}


def scenario(name, prepare=None):
    def register(make):
        def prepare_and_make(w):
            if prepare is not None:
                prepare(w)
            return make(w)

        SCENARIOS[name] = prepare_and_make
        PREPARATIONS[name] = (prepare, make)
        return prepare_and_make

    return register


def ledger_count(event: str) -> int:
    return LedgerEntry.objects.filter(event=event).count()


@scenario("policy_set_requirement")
def _(w):
    stage = w.stage(name="Internal")

    def call(actor):
        return policy_set_requirement(actor=actor, stage=stage, function=TeamFunction.LEGAL, approvals_required=2)

    def succeeded(result, actor):
        assert SignoffRequirement.objects.get(policy__stage=stage, function=TeamFunction.LEGAL).approvals_required == 2

    return call, succeeded


@scenario("policy_set_consultation")
def _(w):
    stage = w.stage(name="Beta")

    def call(actor):
        return policy_set_consultation(actor=actor, stage=stage, must_acknowledge=True)

    def succeeded(result, actor):
        assert StagePolicy.objects.get(stage=stage).consulted_must_acknowledge is True

    return call, succeeded


@scenario("signoffs_request")
def _(w):
    stage = w.stage(name="Internal")
    before = ledger_count(LedgerEvent.REQUESTED)

    def call(actor):
        return signoffs_request(actor=actor, launch=w.launch, stage=stage)

    def succeeded(result, actor):
        # Product and ML by default; legal and security for the launch's personal data.
        expected = {TeamFunction.PRODUCT, TeamFunction.ML, TeamFunction.LEGAL, TeamFunction.SECURITY}
        assert {r.function for r in result} == expected
        assert all(r.requested_by == actor for r in result)
        assert ledger_count(LedgerEvent.REQUESTED) == before + 4

    return call, succeeded


@scenario("signoff_withdraw")
def _(w):
    def call(actor):
        return signoff_withdraw(actor=actor, signoff=w.request, reason="Scope changed")

    def succeeded(result, actor):
        assert SignoffRequest.objects.get(pk=w.request.pk).status == RequestStatus.WITHDRAWN
        assert ledger_count(LedgerEvent.WITHDRAWN) == 1

    return call, succeeded


@scenario("signoff_decide")
def _(w):
    def call(actor):
        return signoff_decide(actor=actor, signoff=w.request, outcome=DecisionOutcome.APPROVE)

    def succeeded(result, actor):
        # The delegate's decision counts for the addressee who delegated.
        assert result.decided_by == actor and result.on_behalf_of == w.people["addressee"]
        assert SignoffRequest.objects.get(pk=w.request.pk).status == RequestStatus.APPROVED
        assert ledger_count(LedgerEvent.DECIDED) == 1

    return call, succeeded


@scenario("signoff_delegate")
def _(w):
    # A second request to the addressee, for Beta, not delegated yet.
    [request] = signoffs_request(
        actor=w.owner,
        launch=w.launch,
        stage=w.stage(name="Beta"),
        functions=[TeamFunction.LEGAL],
        addressees={TeamFunction.LEGAL: [w.people["addressee"]]},
    )
    before = ledger_count(LedgerEvent.DELEGATED)

    def call(actor):
        return signoff_delegate(actor=actor, signoff=request, delegate=w.people["delegate"], reason="Travelling")

    def succeeded(result, actor):
        assert SignoffDelegation.objects.filter(
            request=request, delegator=actor, delegate=w.people["delegate"]
        ).exists()
        assert w.people["delegate"].has_perm(DECIDE_REQUEST, request)
        assert ledger_count(LedgerEvent.DELEGATED) == before + 1

    return call, succeeded


@scenario("acknowledge")
def _(w):
    acknowledgement = Acknowledgement.objects.get(stage__name="Full", user=w.people["consulted"])
    assert acknowledgement.acknowledged_at is None

    def call(actor):
        return acknowledge(actor=actor, acknowledgement=acknowledgement, comment="Read and fine")

    def succeeded(result, actor):
        acknowledgement.refresh_from_db()
        assert acknowledgement.acknowledged_at is not None and acknowledgement.comment == "Read and fine"
        assert ledger_count(LedgerEvent.ACKNOWLEDGED) == 1

    return call, succeeded


def _internal_approved(w):
    approve_signoffs(w.launch, "Internal")


@scenario("stage_advance", prepare=_internal_approved)
def _(w):
    internal = w.stage(name="Internal")

    def call(actor):
        return stage_advance(actor=actor, launch=w.launch, stage=internal)

    def succeeded(result, actor):
        assert result.may_enter
        assert Launch.objects.get(pk=w.launch.pk).current_stage == internal
        assert ledger_count(LedgerEvent.STAGE_ADVANCED) == 1

    return call, succeeded


def _in_beta(w):
    for name in ("Internal", "Beta"):
        approve_signoffs(w.launch, name)
        stage_advance(actor=w.owner, launch=w.launch, stage=w.stage(name=name))


@scenario("stage_rollback", prepare=_in_beta)
def _(w):
    assert Launch.objects.get(pk=w.launch.pk).current_stage.name == "Beta"
    internal = w.stage(name="Internal")

    def call(actor):
        return stage_rollback(actor=actor, launch=w.launch, stage=internal, reason="Error rate spiked")

    def succeeded(result, actor):
        assert Launch.objects.get(pk=w.launch.pk).current_stage == internal
        assert ledger_count(LedgerEvent.STAGE_ROLLED_BACK) == 1

    return call, succeeded


@scenario("waiver_request")
def _(w):
    beta = w.stage(name="Beta")

    def call(actor):
        return waiver_request(
            actor=actor,
            launch=w.launch,
            stage=beta,
            check_key="feedback_loop",
            justification="Beta users report by e-mail",
            expires_on=timezone.localdate() + datetime.timedelta(days=30),
        )

    def succeeded(result, actor):
        waiver = Waiver.objects.get(stage=beta, check_key="feedback_loop")
        assert waiver.status == WaiverStatus.PENDING and waiver.requested_by == actor

    return call, succeeded


@scenario("waiver_decide")
def _(w):
    # pii_policy belongs to the Policy area, of which ``accountable`` is Accountable.
    waiver = waiver_request(
        actor=w.owner,
        launch=w.launch,
        stage=w.stage(name="Beta"),
        check_key="pii_policy",
        justification="Legal review booked for next week",
        expires_on=timezone.localdate() + datetime.timedelta(days=14),
    )

    def call(actor):
        return waiver_decide(actor=actor, waiver=waiver, approve=True, comment="Fine for Beta")

    def succeeded(result, actor):
        waiver.refresh_from_db()
        assert waiver.status == WaiverStatus.APPROVED and waiver.decided_by == actor
        assert ledger_count(LedgerEvent.WAIVER_DECIDED) == 1

    return call, succeeded


@scenario("raci_assign")
def _(w):
    area = w.launch.areas.get(kind=AreaKind.INFRASTRUCTURE)
    newcomer = StakeholderFactory(user=UserFactory(username="newcomer"))

    def call(actor):
        return raci_assign(area=area, stakeholder=newcomer, role=Role.RESPONSIBLE, actor=actor)

    def succeeded(result, actor):
        assert RaciAssignment.objects.filter(area=area, stakeholder=newcomer, role=Role.RESPONSIBLE).exists()
        assert can_view(newcomer.user, w.launch)

    return call, succeeded


@scenario("launch_stakeholder_fill")
def _(w):
    slot = LaunchStakeholderFactory(launch=w.launch, function=TeamFunction.COMPLIANCE, stakeholder=None)
    newcomer = StakeholderFactory(
        user=UserFactory(username="newcomer"), teams=[TeamFactory(function=TeamFunction.COMPLIANCE)]
    )

    seen_version = fact_version(slot)

    def call(actor):
        return launch_stakeholder_fill(slot=slot, stakeholder=newcomer, actor=actor, seen_version=seen_version)

    def succeeded(result, actor):
        assert LaunchStakeholder.objects.get(pk=slot.pk).stakeholder == newcomer
        assert can_view(newcomer.user, w.launch)

    return call, succeeded


# The matrix ---------------------------------------------------------------------------------

REFUSALS = {403: PermissionDenied, 404: Http404}


def cells():
    for service, row in EXPECTED.items():
        for role, expected in row.items():
            yield pytest.param(service, role, expected, id=f"{service}-{role}-{expected}")


# Superusers and four eyes -------------------------------------------------------------------


def test_a_superuser_who_is_not_an_addressee_cannot_decide(world, superuser):
    with pytest.raises(PermissionDenied):
        signoff_decide(actor=superuser, signoff=world.request, outcome=DecisionOutcome.APPROVE)
    assert not SignoffDecision.objects.exists()
    assert SignoffRequest.objects.get(pk=world.request.pk).status == RequestStatus.PENDING


def test_a_superuser_cannot_address_a_request_to_themselves(launch, superuser):
    before = db_state()
    with pytest.raises(ValidationError) as refused:
        signoffs_request(
            actor=superuser,
            launch=launch,
            stage=launch.stages.get(name="Internal"),
            functions=[TeamFunction.PRODUCT],
            addressees={TeamFunction.PRODUCT: [superuser]},
        )
    assert "yourself" in str(refused.value)
    assert db_state() == before


@pytest.mark.parametrize("outcome", [DecisionOutcome.APPROVE, DecisionOutcome.REJECT])
def test_a_superuser_cannot_decide_a_request_they_raised_even_when_added_as_addressee(
    launch, addressee, superuser, outcome
):
    [request] = signoffs_request(
        actor=superuser,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        functions=[TeamFunction.LEGAL],
        addressees={TeamFunction.LEGAL: [addressee]},
    )
    # Slipped in behind the service's back, with the object permission to match.
    request.addressees.add(superuser)
    assign_perm(DECIDE_REQUEST, superuser, request)
    before = db_state()

    with pytest.raises(PermissionDenied):
        signoff_decide(actor=superuser, signoff=request, outcome=outcome, comment="Looks fine to me")

    assert db_state() == before
    assert not SignoffDecision.objects.filter(request=request).exists()
    # The genuine addressee still can.
    signoff_decide(actor=addressee, signoff=request, outcome=DecisionOutcome.APPROVE)
    assert SignoffRequest.objects.get(pk=request.pk).status == RequestStatus.APPROVED


def test_a_superuser_who_raised_a_request_cannot_decide_it_as_a_delegate(launch, addressee, superuser):
    [request] = signoffs_request(
        actor=superuser,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        functions=[TeamFunction.LEGAL],
        addressees={TeamFunction.LEGAL: [addressee]},
    )
    # signoff_delegate refuses delegating to the requester; write the row directly.
    SignoffDelegation.objects.create(request=request, delegator=addressee, delegate=superuser)
    with pytest.raises(PermissionDenied):
        signoff_decide(actor=superuser, signoff=request, outcome=DecisionOutcome.APPROVE)
    assert not SignoffDecision.objects.filter(request=request).exists()


def test_a_superuser_cannot_decide_a_waiver_they_requested(launch, superuser, policy_area):
    # Make them every kind of waiver approver too: an executive and the Policy Accountable.
    StakeholderFactory(
        user=superuser,
        teams=[TeamFactory(name="Board", function=TeamFunction.EXECUTIVE), team_for(TeamFunction.COMPLIANCE)],
    )
    raci_assign(area=policy_area, stakeholder=superuser.stakeholder, role=Role.ACCOUNTABLE, actor=superuser)
    waiver = waiver_request(
        actor=superuser,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        check_key="pii_policy",
        justification="Trust me",
        expires_on=timezone.localdate() + datetime.timedelta(days=7),
    )
    before = db_state()

    for approve in (True, False):
        with pytest.raises(PermissionDenied):
            waiver_decide(actor=superuser, waiver=waiver, approve=approve, comment="Self-service")

    assert db_state() == before
    waiver.refresh_from_db()
    assert waiver.status == WaiverStatus.PENDING and waiver.decided_by is None
