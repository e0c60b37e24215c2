"""Freshness: an approval covers the facts it was given on. When those facts change it is stale
and says what changed; after SIGNOFF_MAX_AGE_DAYS it has expired. Either way it no longer counts.

The owner's launches, one with its Internal sign-offs approved and one with none requested, are
built once per module (``shared_launches``); each test runs inside them in a savepoint of its own
and reads its launch back from the database (like ``setUpTestData``)."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone, translation

from approvals.models import SignoffDecision
from approvals.services import signoff_decide, signoff_withdraw, signoffs_request
from approvals.snapshot import diff_snapshots, fingerprint, launch_snapshot, readable_facts
from ledger.verification import verify
from raci.choices import AreaKind, Role, TeamFunction
from raci.services import quality_bar_agree
from readiness.checklist import Status, evaluate, with_checklist_facts
from readiness.choices import AccessLevel, FeedbackKind, ReviewCadence
from readiness.i18n import shown_date
from readiness.models import Launch
from readiness.services import fact_change, fact_version
from tests.builders import approve_signoffs, facts_of, ready_launch, team_for
from tests.factories import (
    DataAssetFactory,
    EvalRunFactory,
    FeedbackChannelFactory,
    StakeholderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_intact(request, db):
    yield
    if request.node.get_closest_marker("ledger_rewritten") is None:
        assert verify().ok


def sign_off_check(launch: Launch, stage_name: str = "Internal", *, now=None):
    facts = with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()
    stage = next(s for s in facts.stages.all() if s.name == stage_name)
    return evaluate(facts, stage, now=now).results[0]


def name(user) -> str:
    return user.get_full_name()


def accountable(launch: Launch, kind: str):
    return launch.areas.get(kind=kind).assignments.get(role=Role.ACCOUNTABLE)


def build_launches() -> dict[str, int]:
    """The owner's two launches: one with the Internal sign-offs (legal, security, product, ML)
    approved on today's facts, one with no sign-off requested yet; returns their primary keys."""
    owner = UserFactory(username="owner", first_name="Olive", last_name="Owner")
    approved = ready_launch(owner=owner, slug="assistant")
    approve_signoffs(approved, "Internal")
    unrequested = ready_launch(owner=owner, slug="unrequested", name="Unrequested")
    return {"approved": approved.pk, "unrequested": unrequested.pk}


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
    return Launch.objects.get(pk=shared_launches["unrequested"])


@pytest.fixture
def owner(launch):
    return get_user_model().objects.get(pk=launch.owner_id)


@pytest.fixture
def approved(shared_launches, db) -> Launch:
    """The Internal sign-offs (legal and security for the personal support tickets, product, ML)
    approved on today's facts."""
    return Launch.objects.get(pk=shared_launches["approved"])


def approvers(launch: Launch, stage_name: str = "Internal") -> dict[str, object]:
    decisions = SignoffDecision.objects.filter(request__stage__name=stage_name, superseded_at__isnull=True)
    return {d.request.function: d.on_behalf_of for d in decisions.select_related("request", "on_behalf_of")}


# What entering Internal needs on the ready launch, in the order the check names them.
INTERNAL_SIGN_OFFS = [("legal", "Legal"), ("security", "Security"), ("product", "Product"), ("ml", "ML")]


# Material changes: each returns the diff line the stale reason must show.


def change(launch, fact, **values) -> None:
    """As the owner would, through the service (which clears and ledgers an agreement it touches)."""
    fact_change(actor=launch.owner, fact=fact, seen_version=fact_version(fact), values=values)


def lower_the_failure_rate(launch):
    bar = launch.quality_bars.get()
    agreed_by = bar.agreed_by.get_username()
    change(launch, bar, max_failure_rate=Decimal("0.02"))
    # Changing the bar clears its agreement, which the approvals covered too.
    return f"quality bars › wrong_answers › agreed by: {agreed_by} → none; quality bars › wrong_answers › max failure rate: 5 % → 2 %"


def record_new_evidence(launch):
    EvalRunFactory(
        quality_bar=launch.quality_bars.get(),
        samples=1000,
        failures=12,
        run_at=timezone.now() + datetime.timedelta(minutes=1),
    )
    return "quality bars › wrong_answers › evidence › failures: 30 → 12"


def widen_data_access(launch):
    asset = launch.data_assets.get(name="Help-centre articles")
    asset.access_level = AccessLevel.OPEN
    asset.save()
    return "data assets › Help-centre articles › access level: all_employees → open"


def add_a_data_asset(launch):
    DataAssetFactory(launch=launch, name="Product catalogue")
    return "; ".join(
        f"data assets › Product catalogue › {fact}: added ({value})"
        for fact, value in [
            ("access level", "all_employees"),
            ("audit interval days", "none"),
            ("classification", "internal"),
            ("masked in logs", "False"),
            ("retention days", "none"),
        ]
    )


def change_an_accountable(launch):
    assignment = accountable(launch, AreaKind.MODEL_QUALITY)
    before = assignment.stakeholder.user.username
    assignment.stakeholder = StakeholderFactory(teams=[team_for(TeamFunction.ML)])
    assignment.save()
    return f"accountables › Model/prompt quality: {before} → {assignment.stakeholder.user.username}"


def raise_the_exposure(launch):
    stage = launch.stages.get(name="Internal")
    stage.exposure_percent = Decimal("5")
    stage.save()
    return "stage › exposure percent: 1 % → 5 %"


def loosen_an_slo(launch):
    slo = launch.slos.get(indicator="latency_p95")
    agreed_by = slo.agreed_by.get_username()
    change(launch, slo, target=Decimal("4000"))
    # Changing the target clears its agreement, which the approvals covered too.
    return f"slos › latency_p95 › agreed by: {agreed_by} → none; slos › latency_p95 › target: 3000 → 4000"


def slow_the_p0_response(launch):
    level = launch.severity_levels.get(level="P0")
    level.response_minutes = 30
    level.save()
    return "severity policy › P0 › response minutes: 15 → 30"


def make_rollback_manual(launch):
    plan = launch.rollback_plan
    plan.one_click = False
    plan.save()
    return "rollback plan › one click: True → False"


@pytest.mark.parametrize(
    "change",
    [
        lower_the_failure_rate,
        record_new_evidence,
        widen_data_access,
        add_a_data_asset,
        change_an_accountable,
        raise_the_exposure,
        loosen_an_slo,
        slow_the_p0_response,
        make_rollback_manual,
    ],
)
def test_an_approval_goes_stale_when_the_facts_it_covered_change_and_says_what_changed(approved, change):
    assert sign_off_check(approved).status == Status.PASS
    people = approvers(approved)

    line = change(approved)
    check = sign_off_check(approved)

    assert check.status == Status.FAIL
    assert check.reasons == tuple(
        f"{label} sign-off has 0 of 1 fresh approvals; approval by {name(people[function])} "
        f"is stale — facts changed since: {line}."
        for function, label in INTERNAL_SIGN_OFFS
    )


@pytest.mark.parametrize(
    "edit",
    [
        "summary",
        "runbook link",
        "feedback channel",
        "dashboard link",
        "rollback rehearsal",
        "audit date",
    ],
)
def test_edits_outside_the_approved_facts_keep_approvals_fresh(approved, edit):
    launch = approved
    if edit == "summary":
        launch.summary = "A rewritten pitch for the assistant."
        launch.save()
    elif edit == "runbook link":
        runbook = launch.runbook
        runbook.link = "https://wiki.example.com/runbooks/assistant-v2"
        runbook.save()
    elif edit == "feedback channel":
        FeedbackChannelFactory(launch=launch, kind=FeedbackKind.LOW_CONFIDENCE, review_cadence=ReviewCadence.DAILY)
        channel = launch.feedback_channels.get(kind=FeedbackKind.NEGATIVE_FEEDBACK)
        channel.review_cadence = ReviewCadence.MONTHLY
        channel.save()
    elif edit == "dashboard link":
        for slo in launch.slos.all():
            slo.dashboard_link = "https://grafana.example.com/d/assistant-v2"
            slo.save()
    elif edit == "rollback rehearsal":
        plan = launch.rollback_plan
        plan.last_rehearsed_at = timezone.localdate()
        plan.save()
    elif edit == "audit date":
        asset = launch.data_assets.get(name="Support tickets")
        asset.last_audit_at = timezone.localdate() - datetime.timedelta(days=1)
        asset.save()

    check = sign_off_check(launch)

    assert check.status == Status.PASS
    assert check.reasons == (
        "All required sign-offs are approved and fresh: Legal ×1, Security ×1, Product ×1, ML ×1.",
    )


def test_a_stale_approval_counts_again_once_given_on_the_new_facts(approved):
    lower_the_failure_rate(approved)
    assert sign_off_check(approved).status == Status.FAIL

    for decision in SignoffDecision.objects.filter(superseded_at__isnull=True).select_related(
        "request", "on_behalf_of"
    ):
        signoff_decide(actor=decision.on_behalf_of, signoff=decision.request, outcome="approve", comment="Re-checked.")

    assert sign_off_check(approved).status == Status.PASS


def test_changing_the_facts_back_makes_the_approval_fresh_again(approved):
    bar = approved.quality_bars.get()
    agreed_by = bar.agreed_by
    change(approved, bar, max_failure_rate=Decimal("0.02"))
    assert sign_off_check(approved).status == Status.FAIL

    change(approved, bar, max_failure_rate=Decimal("0.05"))
    assert sign_off_check(approved).status == Status.FAIL  # the agreement was cleared on the way
    quality_bar_agree(actor=agreed_by, bar=bar, seen_version=fact_version(bar))

    assert sign_off_check(approved).status == Status.PASS


def test_the_stored_snapshot_differs_from_the_current_one_exactly_by_the_change(approved):
    decision = SignoffDecision.objects.filter(request__function="ml").get()
    widen_data_access(approved)

    facts = with_checklist_facts(Launch.objects.filter(pk=approved.pk)).get()
    internal = next(s for s in facts.stages.all() if s.name == "Internal")
    current = launch_snapshot(facts, internal)

    assert decision.fingerprint != fingerprint(current)
    assert diff_snapshots(decision.snapshot, current) == [
        "data assets › Help-centre articles › access level: all_employees → open"
    ]


def test_a_long_diff_is_shortened_in_the_reason(approved):
    for n in range(7):
        DataAssetFactory(launch=approved, name=f"Extra {n}")

    check = sign_off_check(approved)

    assert all("; and " in reason and "more." in reason for reason in check.reasons)


# Expiry ------------------------------------------------------------------------------------


def test_approvals_expire_after_the_configured_age(approved, settings):
    settings.SIGNOFF_MAX_AGE_DAYS = 30
    decided_at = SignoffDecision.objects.get(request__function="ml").decided_at
    ml_approver = approvers(approved)["ml"]

    assert sign_off_check(approved, now=timezone.now() + datetime.timedelta(days=29)).status == Status.PASS

    check = sign_off_check(approved, now=timezone.now() + datetime.timedelta(days=31))

    assert check.status == Status.FAIL
    expired_on = shown_date(decided_at + datetime.timedelta(days=30))
    assert (
        f"ML sign-off has 0 of 1 fresh approvals; approval by {name(ml_approver)} expired on {expired_on}."
        in check.reasons
    )


def test_approvals_last_ninety_days_by_default(approved, settings):
    assert settings.SIGNOFF_MAX_AGE_DAYS == 90

    assert sign_off_check(approved, now=timezone.now() + datetime.timedelta(days=89)).status == Status.PASS
    assert sign_off_check(approved, now=timezone.now() + datetime.timedelta(days=91)).status == Status.FAIL


def test_an_expired_approval_counts_again_once_renewed(approved, settings, monkeypatch):
    settings.SIGNOFF_MAX_AGE_DAYS = 30
    later = timezone.now() + datetime.timedelta(days=45)
    monkeypatch.setattr(timezone, "now", lambda: later)

    for decision in SignoffDecision.objects.filter(superseded_at__isnull=True).select_related(
        "request", "on_behalf_of"
    ):
        signoff_decide(actor=decision.on_behalf_of, signoff=decision.request, outcome="approve")

    assert sign_off_check(approved, now=later).status == Status.PASS


# Everything at once ------------------------------------------------------------------------


def test_the_sign_off_check_names_each_missing_rejected_stale_or_expired_sign_off(launch, owner, monkeypatch):
    requests = {
        r.function: r for r in signoffs_request(actor=owner, launch=launch, stage=launch.stages.get(name="Beta"))
    }
    person = {function: request.addressees.get() for function, request in requests.items()}

    signoff_decide(actor=person["ml"], signoff=requests["ml"], outcome="approve")  # will go stale
    stale_line = make_rollback_manual(launch)
    long_ago = timezone.now() - datetime.timedelta(days=100)
    with monkeypatch.context() as past:
        past.setattr(timezone, "now", lambda: long_ago)
        signoff_decide(actor=person["product"], signoff=requests["product"], outcome="approve")  # expired
    signoff_decide(actor=person["legal"], signoff=requests["legal"], outcome="reject", comment="The DPIA is missing.")
    signoff_decide(actor=person["security"], signoff=requests["security"], outcome="approve")  # fresh
    signoff_withdraw(actor=owner, signoff=requests["data"])  # missing

    check = sign_off_check(launch, "Beta")

    expired_on = shown_date(long_ago + datetime.timedelta(days=90))
    assert check.status == Status.FAIL
    assert sorted(check.reasons) == sorted(
        [
            f"Legal sign-off was rejected by {name(person['legal'])}: The DPIA is missing.",
            f"Product sign-off has 0 of 1 fresh approvals; approval by {name(person['product'])} "
            f"expired on {expired_on}.",
            f"ML sign-off has 0 of 1 fresh approvals; approval by {name(person['ml'])} is stale — facts changed since: "
            f"{stale_line}.",
            "Data sign-off has not been requested (Medium-risk default).",
        ]
    )
    assert not any("Security" in reason for reason in check.reasons)


def test_the_sign_off_check_passes_when_every_sign_off_is_approved_and_fresh(approved):
    check = sign_off_check(approved)

    assert check.status == Status.PASS
    assert check.reasons == (
        "All required sign-offs are approved and fresh: Legal ×1, Security ×1, Product ×1, ML ×1.",
    )


def test_pending_sign_offs_name_who_is_awaited_and_by_when(launch, owner):
    due = timezone.localdate() + datetime.timedelta(days=3)
    requests = signoffs_request(actor=owner, launch=launch, stage=launch.stages.get(name="Internal"), due_date=due)
    ml = next(r for r in requests if r.function == "ml")

    check = sign_off_check(launch)

    assert (
        f"ML sign-off has 0 of 1 fresh approvals; waiting for {name(ml.addressees.get())}, due {shown_date(due)}."
        in (check.reasons)
    )
    with translation.override("ko"):  # the same reason in Korean writes the date as Korean writes dates
        korean = sign_off_check(launch)
    awaited = f"{name(ml.addressees.get())} 님의 결정 대기 중, 기한 {due.year}년 {due.month}월 {due.day}일"
    assert any(awaited in reason for reason in korean.reasons), korean.reasons


# --- what the approval covers -----------------------------------------------------------------


@pytest.mark.ledger_rewritten
@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda launch: launch.quality_bars.update(failure_definition="Anything off-topic."),
            "what counts as a failure",
        ),
        (lambda launch: Launch.objects.filter(pk=launch.pk).update(risk_tier="high"), "risk tier"),
    ],
)
def test_approvals_go_stale_when_the_meaning_of_the_bar_or_the_risk_tier_changes(approved, change, path):
    change(approved)
    facts = facts_of(approved)
    result = evaluate(facts, next(s for s in facts.stages.all() if s.name == "Internal")).results[0]
    assert path in " ".join(result.reasons)


def test_shares_in_a_change_read_in_percent_as_they_are_typed():
    """A failure rate stored as 0.05 and an exposure stored as 1 read alike: "5 %", "1 %"; a latency
    target keeps its own unit, and a key that is not a share is shown as it is."""
    old = {
        "stage": {"exposure percent": "1"},
        "quality bars": {"wrong_answers": {"max failure rate": "0.05", "confidence level": "0.95"}},
        "slos": {"success_rate": {"target": "99.5"}, "latency_p95": {"target": "3000"}},
    }
    new = {
        "stage": {"exposure percent": "10"},
        "quality bars": {"wrong_answers": {"max failure rate": "0.025", "confidence level": "0.99"}},
        "slos": {"success_rate": {"target": "99.9"}, "latency_p95": {"target": "2500"}},
    }
    assert diff_snapshots(old, new) == [
        "quality bars › wrong_answers › confidence level: 95 % → 99 %",
        "quality bars › wrong_answers › max failure rate: 5 % → 2.5 %",
        "slos › latency_p95 › target: 3000 → 2500",
        "slos › success_rate › target: 99.5 % → 99.9 %",
        "stage › exposure percent: 1 % → 10 %",
    ]
    assert ("stage › exposure percent", "1 %") in readable_facts(old)
