from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings

from approvals.models import SignoffDecision
from raci.choices import TeamFunction
from raci.models import Team
from readiness.checklist import evaluate_many
from readiness.models import Launch

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(module_transaction) -> str:
    """``seed_demo --force`` with DEBUG off (as on a shared staging server), run once for the
    module (see ``module_transaction``): what the command printed. The runs with DEBUG on, as a
    developer's ``make run`` does, and the runs again, go over this demo in a test's savepoint."""
    return seed(debug=False)


def seed(*, debug: bool) -> str:
    """Run ``seed_demo``: with DEBUG on as ``make run`` does, or forced with DEBUG off (pytest-django
    runs with DEBUG off, where it refuses unforced)."""
    out = StringIO()
    with override_settings(DEBUG=debug):
        call_command("seed_demo", *([] if debug else ["--force"]), stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for app in ("readiness", "ledger", "raci", "approvals")
        for model in apps.get_app_config(app).get_models()
    }


@pytest.mark.parametrize("debug", [True, False], ids=["debug-on", "forced-with-debug-off"])
def test_seed_demo_is_idempotent(seeded, debug):
    before = row_counts()
    people = (get_user_model().objects.exclude(username="admin").count(), Team.objects.count())
    assert seed(debug=debug).startswith("Demo data ready (0 new launches).")
    assert row_counts() == before
    assert (get_user_model().objects.exclude(username="admin").count(), Team.objects.count()) == people


def test_seed_demo_prints_one_login_per_role(seeded):
    out = seeded
    for login in ("pam", "lena", "sam", "eve", "otto"):
        assert f"  {login} " in out
    assert "password for all: preflight-demo" in out


def test_seed_demo_forced_with_debug_off_creates_no_superuser_and_says_so(seeded):
    users = get_user_model().objects
    assert users.filter(username="pam").exists() and Launch.objects.exists()
    assert not users.filter(is_superuser=True).exists()
    assert not users.filter(is_staff=True).exists()
    assert "No superuser was created (DEBUG is off)" in seeded
    assert "admin  superuser" not in seeded


def test_seed_demo_with_debug_on_creates_the_superuser_and_names_it(seeded):
    out = seed(debug=True)

    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert "  admin  superuser (Django admin)" in out
    assert "No superuser was created" not in out


def test_seed_demo_has_people_in_every_function(seeded):
    functions = set(Team.objects.filter(members__isnull=False).values_list("function", flat=True))
    assert functions == set(TeamFunction.values)


def test_seed_demo_portfolio_has_ready_and_blocked_launches_for_different_reasons(seeded):
    readiness = {r.launch.slug: r for r in evaluate_many(Launch.objects.all())}
    assert readiness["sales-email-drafter"].may_enter and readiness["sales-email-drafter"].stage.name == "Internal"
    blockers = {slug: {b.key for b in r.blockers} for slug, r in readiness.items()}
    assert blockers == {
        "sales-email-drafter": set(),
        "support-assistant": {"stakeholders_approved"},
        "meeting-notes": {"stakeholders_approved"},
        "code-review-bot": {"stakeholders_approved", "quality_evidence", "rollback_plan", "pii_policy"},
        # The stricter bar cleared its agreement; the template's proposals are not yet confirmed.
        "contract-summariser": {
            "stakeholders_approved",
            "failure_rate_agreed",
            "raci_defined",
            "data_classified",
            "pii_policy",
        },
        "hr-helpdesk": {"stakeholders_approved"},
        # In service for three months: its evidence has aged, last week's failure review was missed
        # and its p95 latency is over target this month.
        "billing-faq": {"stakeholders_approved", "quality_evidence", "feedback_loop", "operating_within_slos"},
    }
    stages = {
        launch.slug: launch.current_stage.name if launch.current_stage else None for launch in Launch.objects.all()
    }
    assert stages == {
        "meeting-notes": "Internal",
        "support-assistant": "Beta",
        "sales-email-drafter": None,
        "code-review-bot": "Internal",
        "contract-summariser": None,
        "hr-helpdesk": None,
        "billing-faq": "Beta",
    }


def test_seed_demo_shows_every_kind_of_sign_off(seeded):
    readiness = {r.launch.slug: r for r in evaluate_many(Launch.objects.all())}

    def reasons(slug):
        return " ".join(readiness[slug].results[0].reasons)

    assert "waiting for Eve Laurent" in reasons("support-assistant")  # pending
    assert "rejected by Lena Fischer" in reasons("code-review-bot")  # rejected
    assert "Dana Levi requested changes" in reasons("code-review-bot")
    assert "quality bars › wrong_answers › max failure rate: 5 % → 2 %" in reasons("contract-summariser")
    assert "expired on" in reasons("meeting-notes")
    assert readiness["sales-email-drafter"].results[0].status == "pass"  # approved and fresh


def test_seed_demo_leaves_an_intact_ledger(seeded):
    from ledger.verification import verify

    result = verify()
    assert result.ok and result.checked > 0


def test_seed_demo_records_who_did_what_in_history_although_no_request_is_running(seeded):
    launch = Launch.objects.get(slug="support-assistant")
    assert {record.history_user.username for record in launch.history.all()} == {"pam"}
    assert launch.history.filter(history_change_reason="Advanced from Internal to Beta").exists()

    for decision in SignoffDecision.objects.filter(request__launch=launch):
        assert decision.history.get().history_user == decision.decided_by


def test_seed_demo_shows_each_stricter_rule_passing_on_one_launch_and_failing_on_another(seeded):
    readiness = {r.launch.slug: r for r in evaluate_many(Launch.objects.all())}

    def item(slug: str, key: str):
        return next(result for result in readiness[slug].results if result.key == key)

    def says(slug: str, key: str, status: str, fragment: str) -> None:
        result = item(slug, key)
        assert result.status == status, (slug, key, result.reasons)
        assert any(fragment in reason for reason in result.reasons), (slug, key, result.reasons)

    # 1. Personal data needs legal and security at internal: approved for one, pending for another.
    says("sales-email-drafter", "stakeholders_approved", "pass", "Legal ×1, Security ×1, Product ×1")
    says("hr-helpdesk", "stakeholders_approved", "fail", "Legal sign-off has 0 of 1 fresh approvals; waiting for")
    # 3. A standard area left out with a recorded reason, and one simply missing.
    says("meeting-notes", "raci_defined", "pass", "Standard area 'Data and retrieval quality' is left out: “")
    says("contract-summariser", "raci_defined", "fail", "Standard area 'User experience and fallbacks' is missing")
    # 4. Response times in order and within limits, or not.
    says("support-assistant", "incident_owner", "pass", "with response times in order")
    says("sales-email-drafter", "incident_owner", "fail", "P1 response time is 6 h; at most 4 h is allowed for P1.")
    says("sales-email-drafter", "incident_owner", "fail", "P3 is answered faster (2 h) than P2 (6 h)")
    # 5. Personal data kept to named people, or open to all employees.
    says("support-assistant", "data_classified", "pass", "each with an access level its class allows")
    says("contract-summariser", "data_classified", "fail", "holds personal data (PII) but its access level is")
    # 6. A confidential asset with every control, and one never audited.
    says("support-assistant", "pii_policy", "pass", "1 PII asset and 1 confidential asset")
    says("code-review-bot", "pii_policy", "fail", "Confidential asset 'Private repositories' has an audit interval")
    # 11. The feedback loop gates beta.
    assert item("meeting-notes", "feedback_loop").gating
    # 12. Evidence of the version in service, fresh and reviewed by people — or not.
    says("support-assistant", "quality_evidence", "pass", "one-sided 95 % upper bound")
    says("support-assistant", "quality_evidence", "pass", "passes with up to 47 failures in 1,200")
    says("sales-email-drafter", "quality_evidence", "fail", "measured 'model-2026-10 + prompt v2', but")
    says("contract-summariser", "quality_evidence", "fail", "ran 120 days ago")
    says("hr-helpdesk", "quality_evidence", "fail", "a person reviewed 30 of 300 samples (10 %), less than the 25 %")
    says("code-review-bot", "quality_evidence", "fail", "passes with up to 1 failure in 100")
