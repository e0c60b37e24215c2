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
from tests.seeded_demo import empty_the_database, the_seeded_demo

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo as ``seed_demo --force`` leaves it with DEBUG off (as on a shared staging server),
    committed (seeded once per test run: see tests/seeded_demo.py), and emptied after the module."""
    with django_db_blocker.unblock():
        printed = the_seeded_demo(tmp_path_factory)
    yield printed
    with django_db_blocker.unblock():
        empty_the_database()


@pytest.fixture(scope="module")
def seeded(demo, module_transaction) -> str:
    """What ``seed_demo --force`` printed. The module's tests run in the module's transaction
    (see ``module_transaction``): the runs with DEBUG on, as a developer's ``make run`` does, and
    the runs again, go over the demo in a test's savepoint."""
    return demo


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


def _cells(page: str, slug: str) -> dict[str, str]:
    """A launch's portfolio row, cell by cell (keyed by column label), tags stripped."""
    import re

    from django.urls import reverse

    href = f'href="{reverse("web:launch", args=[slug])}"'
    (row,) = [row for row in re.findall(r"<tr>(.*?)</tr>", page, re.S) if href in row]
    cells = re.findall(r'<td data-label="([^"]*)"[^>]*>(.*?)</td>', row, re.S)
    return {label: " ".join(re.sub(r"<[^>]+>", " ", html).split()) for label, html in cells}


def _command(slug: str) -> dict:
    import json

    out = StringIO()
    try:
        call_command("readiness", slug, "--json", stdout=out)
    except SystemExit:  # 1: may not enter
        pass
    return json.loads(out.getvalue())


def test_the_portfolio_the_launch_page_and_the_readiness_command_agree_on_every_demo_launch(seeded, client):
    """Issue 20, point 4: one truth. For every launch of the demo, the verdict for the next stage,
    whether the stage it is in still holds, and its rejected or changes-requested sign-offs read
    the same on the portfolio row, on the launch page and from ``manage.py readiness``."""
    from django.urls import reverse

    client.force_login(get_user_model().objects.get(username="eve"))  # the executive sees every launch
    portfolio = client.get(reverse("web:portfolio")).content.decode()
    standings, objected = set(), 0
    for launch in Launch.objects.filter(archived=False).order_by("slug"):
        row = _cells(portfolio, launch.slug)
        page = client.get(reverse("web:launch", args=[launch.slug])).content.decode()
        said = _command(launch.slug)

        # The verdict for the next stage.
        if said["stage"] is None:
            verdicts = ("final", "Final stage" in row["Readiness"], "No stage left to enter" in page)
        else:
            ready = said["may_enter"]
            # A launch already in a stage shows the next one's blockers as a next step, not an alarm.
            not_ready = "upcoming" if launch.current_stage_id else "blocked"
            verdicts = (
                ready,
                ("Ready" if ready else "Blocked") in row["Readiness"],
                f'id="verdict" class="card verdict-card {"ready" if ready else not_ready}"' in page,
            )
        assert verdicts[1:] == (True, True), (launch.slug, verdicts, row)

        # Whether the stage it is in still holds (None: in planning).
        standing = said["standing"]
        health = row["Operations health"]
        if standing is None:
            assert health == "not launched" and 'id="stage-health"' not in page, launch.slug
        elif standing["holds"]:
            assert health == "holds" and "still holds" in page, (launch.slug, health)
        else:
            assert health.startswith(f"no longer holds: {len(standing['failing'])} reason"), (launch.slug, health)
            assert 'id="stage-health" class="card verdict-card blocked' in page, launch.slug
        standings.add(None if standing is None else standing["holds"])

        # Rejected and changes-requested sign-offs.
        reasons = " ".join(next(i for i in said["items"] if i["key"] == "stakeholders_approved")["reasons"])
        for shown, badge, in_command in (
            ("1 rejected", "Rejected", "rejected by"),
            ("1 change request", "Changes requested", "requested changes"),
        ):
            on_portfolio = shown in row["Sign-offs"]
            on_page = f'signoff-status">{badge}<' in page
            assert on_portfolio == on_page == (in_command in reasons), (launch.slug, shown, row["Sign-offs"])
            objected += on_portfolio
        if "none pending" in row["Sign-offs"]:
            assert "waiting for" not in reasons and "rejected by" not in reasons, launch.slug
    # The demo shows each kind: in planning, holding, and no longer holding.
    assert standings == {None, True, False}
    assert objected == 2  # the code review bot's Beta: legal rejected, data requested changes


def test_the_demo_s_story_is_dated_when_it_happened_in_the_ledger_and_the_history(seeded, client):
    """Issue 20, point 8: billing FAQ entered Internal 95 days ago and Beta 90 days ago. The
    ledger entries say so (``occurred_at``, MACed) while ``created_at`` keeps the time of each
    append, in sequence order; the history rows are dated then; the history page shows it."""
    import datetime

    from django.db.models import F
    from django.urls import reverse
    from django.utils import timezone

    from ledger.events import LedgerEvent
    from ledger.models import LedgerEntry

    today = timezone.localdate()
    launch = Launch.objects.get(slug="billing-faq")
    advanced = LedgerEntry.objects.filter(launch=launch, event=LedgerEvent.STAGE_ADVANCED).order_by("sequence")
    happened = [timezone.localdate(entry.occurred_at) for entry in advanced]
    assert happened[:2] == [today - datetime.timedelta(days=95), today - datetime.timedelta(days=90)]
    assert all(timezone.localdate(entry.created_at) == today for entry in advanced)  # appended today
    created = list(LedgerEntry.objects.order_by("sequence").values_list("created_at", flat=True))
    assert created == sorted(created)  # the time of the append only moves forward
    # Launches whose story is today's carry no second date.
    assert not LedgerEntry.objects.filter(launch__slug="sales-email-drafter", occurred_at__isnull=False).exists()
    entered = launch.history.get(history_change_reason="Advanced from planning to Internal")
    assert timezone.localdate(entered.history_date) == today - datetime.timedelta(days=95)

    client.force_login(get_user_model().objects.get(username="pam"))
    day = (today - datetime.timedelta(days=95)).isoformat()
    page = client.get(reverse("web:history", args=[launch.slug]), {"since": day, "until": day}).content.decode()
    assert "Advanced from planning to Internal" in page and "(recorded " in page
    assert "Advanced from Internal to Beta" not in page  # 90 days ago: outside the range
    assert not LedgerEntry.objects.filter(occurred_at__gt=F("created_at")).exists()


def test_a_rewritten_occurred_at_breaks_the_chain(seeded):
    from django.db import connection

    from ledger.models import LedgerEntry
    from ledger.verification import verify

    entry = LedgerEntry.objects.filter(occurred_at__isnull=False).order_by("sequence").first()
    with connection.cursor() as cursor:  # SQLite has no append-only trigger to switch off
        if connection.vendor != "sqlite":
            pytest.skip("the append-only trigger refuses the rewrite on PostgreSQL")
        cursor.execute(
            "UPDATE approvals_ledgerentry SET occurred_at = created_at WHERE id = %s",
            [entry.pk],
        )
    assert not verify().ok
