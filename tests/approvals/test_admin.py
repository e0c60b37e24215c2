"""The approvals admin: every registered model has working list, change and history pages for a
superuser; decisions, ledger entries and outbox messages cannot be added, changed or deleted
through it; the other workflow records cannot be created or deleted there, nor their workflow state
edited; guardian's permission rows and the ledger head are not in the admin; lists cost a fixed
number of queries."""

from __future__ import annotations

import datetime

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.choices import DecisionOutcome, RequestStatus
from approvals.models import (
    Acknowledgement,
    InformedNotice,
    SignoffDecision,
    SignoffDelegation,
    SignoffRequest,
    SignoffRequestGroupObjectPermission,
    SignoffRequestUserObjectPermission,
    SignoffRequirement,
    StagePolicy,
    Waiver,
)
from approvals.services import (
    policy_set_requirement,
    signoff_decide,
    signoff_delegate,
    signoffs_request,
    waiver_request,
)
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry, LedgerHead
from notifications.models import OutboxMessage
from raci.choices import Role, TeamFunction
from raci.services import raci_assign
from tests.builders import approve_signoffs, ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import admin_url, post_data_from

pytestmark = pytest.mark.django_db

REGISTERED = [
    StagePolicy,
    SignoffRequest,
    SignoffDecision,
    Acknowledgement,
    InformedNotice,
    Waiver,
    LedgerEntry,
    OutboxMessage,
]
NOT_IN_ADMIN = [
    SignoffRequirement,  # edited inline on its policy
    SignoffDelegation,  # shown inline on its request
    SignoffRequestUserObjectPermission,
    SignoffRequestGroupObjectPermission,
    LedgerHead,
]
READ_ONLY = [SignoffDecision, LedgerEntry, OutboxMessage]
NO_ADD_OR_DELETE = [SignoffRequest, Acknowledgement, InformedNotice, Waiver]


def build_workflow() -> int:
    """One of everything, made by the services: a policy, requests with decisions (one superseded),
    a delegation, an acknowledgement, an informed notice, a waiver and the ledger entries. Returns
    the product request's primary key."""
    owner = UserFactory(username="owner", first_name="Olive", last_name="Owner")
    launch = ready_launch(owner=owner, slug="assistant")
    internal = launch.stages.get(name="Internal")
    area = launch.areas.first()
    raci_assign(
        area=area,
        stakeholder=StakeholderFactory(teams=[team_for(TeamFunction.SECURITY)]),
        role=Role.CONSULTED,
        actor=owner,
    )
    raci_assign(
        area=area, stakeholder=StakeholderFactory(teams=[team_for(TeamFunction.DATA)]), role=Role.INFORMED, actor=owner
    )
    policy_set_requirement(actor=owner, stage=internal, function=TeamFunction.PRODUCT, approvals_required=1)
    requests = approve_signoffs(launch, "Internal")
    product = next(r for r in requests if r.function == TeamFunction.PRODUCT)
    first = product.addressees.first()
    signoff_decide(actor=first, signoff=product, outcome=DecisionOutcome.REQUEST_CHANGES, comment="Add the FAQ link.")
    colleague = StakeholderFactory(teams=[team_for(TeamFunction.PRODUCT)]).user
    signoff_delegate(actor=first, signoff=product, delegate=colleague, reason="Holiday")
    signoff_decide(actor=colleague, signoff=product, outcome=DecisionOutcome.APPROVE)
    waiver_request(
        actor=owner,
        launch=launch,
        stage=internal,
        check_key="rollback_plan",
        justification="Rehearsal next week.",
        expires_on=timezone.localdate() + datetime.timedelta(days=7),
    )
    for model in REGISTERED:
        assert model.objects.exists(), f"the fixture made no {model.__name__}"
    return product.pk


@pytest.fixture(scope="module")
def shared_workflow(django_db_setup, django_db_blocker) -> int:
    """The workflow built once per module in a transaction rolled back at its end; each test runs
    inside it in a savepoint of its own (like ``setUpTestData``)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_workflow()
        transaction.set_rollback(True)


@pytest.fixture
def workflow(shared_workflow, db) -> SignoffRequest:
    return SignoffRequest.objects.get(pk=shared_workflow)


# --- registration ---------------------------------------------------------------------------------


def test_the_approvals_models_meant_for_the_admin_are_registered():
    for model in REGISTERED:
        assert admin.site.is_registered(model), model.__name__
    for model in NOT_IN_ADMIN:
        assert not admin.site.is_registered(model), model.__name__


def test_models_with_history_use_the_history_admin():
    from simple_history.admin import SimpleHistoryAdmin

    for model in REGISTERED:
        has_history = hasattr(model, "history")
        assert isinstance(admin.site._registry[model], SimpleHistoryAdmin) == has_history, model.__name__


# --- every page answers ---------------------------------------------------------------------------


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m.__name__)
def test_changelist_and_change_view_answer_for_a_superuser(admin_client, workflow, model):
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    for obj in model.objects.all()[:3]:
        response = admin_client.get(admin_url(model, "change", obj.pk))
        assert response.status_code == 200, f"{model.__name__} #{obj.pk}"
        if hasattr(model, "history"):
            assert admin_client.get(admin_url(model, "history", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m.__name__)
def test_search_and_filters_answer(admin_client, workflow, model):
    model_admin = admin.site._registry[model]
    url = admin_url(model, "changelist")
    if model_admin.search_fields:
        response = admin_client.get(url, {"q": "assistant"})
        assert response.status_code == 200
    response = admin_client.get(url)
    for spec in response.context["cl"].filter_specs:
        for choice in spec.choices(response.context["cl"]):
            query = choice["query_string"]
            assert admin_client.get(url + query).status_code == 200, f"{model.__name__} {query}"


def test_the_decision_page_shows_the_snapshot_and_the_request_page_its_decisions(admin_client, workflow):
    decision = SignoffDecision.objects.filter(request=workflow).first()
    page = admin_client.get(admin_url(SignoffDecision, "change", decision.pk)).content.decode()
    assert "quality bars" in page  # the pretty-printed snapshot
    page = admin_client.get(admin_url(SignoffRequest, "change", workflow.pk)).content.decode()
    assert "Add the FAQ link." in page  # the superseded request-changes decision, inline
    assert "Holiday" in page  # the delegation, inline


def test_the_ledger_page_shows_the_payload_and_the_hashes(admin_client, workflow):
    entry = LedgerEntry.objects.filter(event=LedgerEvent.DECIDED).order_by("-sequence").first()
    page = admin_client.get(admin_url(LedgerEntry, "change", entry.pk)).content.decode()
    assert entry.entry_hash in page
    assert entry.previous_hash in page
    assert "on behalf of" in page


# --- decisions and ledger entries are read-only -----------------------------------------------------


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m.__name__)
def test_read_only_records_cannot_be_added(admin_client, workflow, model):
    before = model.objects.count()
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.post(admin_url(model, "add"), {}).status_code == 403
    assert model.objects.count() == before
    changelist = admin_client.get(admin_url(model, "changelist")).content.decode()
    assert admin_url(model, "add") not in changelist


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m.__name__)
def test_read_only_records_cannot_be_deleted(admin_client, workflow, model):
    obj = model.objects.first()
    before = model.objects.count()
    assert admin_client.get(admin_url(model, "delete", obj.pk)).status_code == 403
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    # Nor through the list's bulk action, which is not even offered.
    response = admin_client.get(admin_url(model, "changelist"))
    assert "delete_selected" not in response.content.decode()
    admin_client.post(
        admin_url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
    )
    assert model.objects.count() == before


def test_a_decision_cannot_be_changed(admin_client, workflow):
    decision = SignoffDecision.objects.filter(superseded_at__isnull=True).first()
    response = admin_client.get(admin_url(SignoffDecision, "change", decision.pk))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert not response.context["adminform"].form.fields, "every field is shown read-only"
    forged = {
        "outcome": DecisionOutcome.REJECT,
        "comment": "Forged.",
        "superseded_at_0": "2020-01-01",
        "superseded_at_1": "00:00:00",
        "fingerprint": "0" * 64,
    }
    assert admin_client.post(admin_url(SignoffDecision, "change", decision.pk), forged).status_code == 403
    after = SignoffDecision.objects.get(pk=decision.pk)
    assert (after.outcome, after.comment, after.superseded_at, after.fingerprint) == (
        decision.outcome,
        decision.comment,
        None,
        decision.fingerprint,
    )
    assert after.history.count() == decision.history.count()


def test_a_ledger_entry_cannot_be_changed(admin_client, workflow):
    entry = LedgerEntry.objects.get(sequence=2)
    response = admin_client.get(admin_url(LedgerEntry, "change", entry.pk))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert not response.context["adminform"].form.fields, "every field is shown read-only"
    forged = {"actor": "mallory", "payload": "{}", "entry_hash": "0" * 64, "sequence": "2", "event": "decided"}
    assert admin_client.post(admin_url(LedgerEntry, "change", entry.pk), forged).status_code == 403
    after = LedgerEntry.objects.get(pk=entry.pk)
    assert (after.actor, after.payload, after.entry_hash) == (entry.actor, entry.payload, entry.entry_hash)
    from ledger.verification import verify

    assert verify().ok


# --- the other workflow records --------------------------------------------------------------------


@pytest.mark.parametrize("model", NO_ADD_OR_DELETE, ids=lambda m: m.__name__)
def test_workflow_records_cannot_be_added_or_deleted_in_the_admin(admin_client, workflow, model):
    obj = model.objects.first()
    before = model.objects.count()
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.count() == before


def test_a_request_cannot_be_edited_in_the_admin(admin_client, workflow):
    request = workflow
    decisions_before = list(SignoffDecision.objects.filter(request=request).values_list("pk", "superseded_at"))
    url = admin_url(SignoffRequest, "change", request.pk)
    data = post_data_from(admin_client.get(url))
    data.update({"message": "Please look before Friday.", "status": RequestStatus.WITHDRAWN, "approvals_required": "5"})
    assert admin_client.post(url, data).status_code == 403
    request.refresh_from_db()
    assert request.message != "Please look before Friday."
    assert request.status == RequestStatus.APPROVED
    assert request.approvals_required == 1
    assert list(SignoffDecision.objects.filter(request=request).values_list("pk", "superseded_at")) == decisions_before


def test_a_waivers_decision_cannot_be_made_in_the_admin(admin_client, workflow):
    waiver = Waiver.objects.get()
    url = admin_url(Waiver, "change", waiver.pk)
    form = admin_client.get(url).context["adminform"].form
    assert not {"status", "decided_by", "decided_at", "decision_comment"} & set(form.fields)


def test_a_policy_cannot_be_edited_in_the_admin(admin_client, workflow):
    """Policies change only through the services: the owner may not lower their own bar, and every
    change is ledgered."""
    policy = StagePolicy.objects.get()
    url = admin_url(StagePolicy, "change", policy.pk)
    data = post_data_from(admin_client.get(url))
    data["consulted_must_acknowledge"] = "on"
    assert admin_client.post(url, data).status_code == 403
    policy.refresh_from_db()
    assert not policy.consulted_must_acknowledge


# --- lists stay at constant queries ----------------------------------------------------------------


def changelist_queries(client, model) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(admin_url(model, "changelist")).status_code == 200
    return len(queries)


def add_more_rows() -> None:
    """A second launch with a workflow of its own: more rows of every registered model."""
    other = ready_launch(slug="second")
    approve_signoffs(other, "Internal")
    area = other.areas.first()
    raci_assign(area=area, stakeholder=StakeholderFactory(), role=Role.CONSULTED, actor=other.owner)
    raci_assign(area=area, stakeholder=StakeholderFactory(), role=Role.INFORMED, actor=other.owner)
    signoffs_request(
        actor=other.owner, launch=other, stage=other.stages.get(name="Beta"), functions=[TeamFunction.LEGAL]
    )
    policy_set_requirement(
        actor=other.owner, stage=other.stages.get(name="Beta"), function=TeamFunction.DATA, approvals_required=2
    )
    waiver_request(
        actor=other.owner,
        launch=other,
        stage=other.stages.get(name="Beta"),
        check_key="slos_defined",
        justification="Agreed with SRE.",
        expires_on=timezone.localdate() + datetime.timedelta(days=7),
    )


@pytest.fixture(scope="module")
def queries_for_fewer_rows(shared_workflow) -> tuple[int, dict]:
    """A superuser, and what each changelist cost them on the module's workflow alone; then
    ``add_more_rows``, once, for the rest of the module (the tests that ask for this come last)."""
    superuser = get_user_model().objects.create_superuser("changelists", "changelists@example.com", "pw-root-123")
    client = Client()
    client.force_login(superuser)
    few = {model: changelist_queries(client, model) for model in REGISTERED}
    add_more_rows()
    return superuser.pk, few


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m.__name__)
def test_changelists_cost_the_same_queries_for_more_rows(client, queries_for_fewer_rows, model):
    superuser, few = queries_for_fewer_rows
    assert SignoffRequest.objects.values("launch").distinct().count() == 2  # the rows were added
    client.force_login(get_user_model().objects.get(pk=superuser))
    assert changelist_queries(client, model) == few[model]
