"""One registry of cross-checks (``readiness.recording.register_ledger_check``): each app registers
the checks over its own rows from its ``AppConfig.ready()``, and ``verify`` runs every one of them,
after the chain, on the ledger read once; the first disagreement a check names is what
``verify_ledger`` reports. The catch-all check of the sealed facts runs after the specific ones."""

import pytest

from ledger.events import LedgerEvent
from ledger.verification import verify
from readiness import recording
from readiness.recording import ledger_checks, register_ledger_check
from tests.ledger.helpers import verify_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(monkeypatch):
    """The registry as the apps left it, restored after the test."""
    monkeypatch.setattr(recording, "_ledger_checks", dict(recording._ledger_checks))


def test_each_app_registers_the_checks_of_its_own_rows_from_its_ready():
    registered = [(check.__module__, check.__name__) for check in ledger_checks()]
    assert registered == [
        ("readiness.ledger_checks", "serving_versions_disagree_with_entries"),
        ("readiness.ledger_checks", "agreements_disagree_with_entries"),
        ("raci.ledger_checks", "acceptances_disagree_with_entries"),
        ("raci.ledger_checks", "omissions_disagree_with_entries"),
        ("approvals.ledger_checks", "signoffs_disagree_with_entries"),
        ("operations.ledger_checks", "incidents_disagree_with_entries"),
        ("operations.ledger_checks", "rollbacks_disagree_with_entries"),
        ("operations.ledger_checks", "failure_reviews_disagree_with_entries"),
        ("operations.ledger_checks", "sli_actuals_disagree_with_entries"),
        # The catch-all runs last, so a row a specific check reads is named by that check.
        ("readiness.ledger_checks", "sealed_facts_disagree_with_entries"),
    ]


def test_verify_runs_a_registered_check_on_the_ledger_read_once(registry, launch):
    seen = []

    def check(entries) -> str:
        seen.append({event: len(found) for event, found in entries.by_event.items() if found})
        return ""

    register_ledger_check(check)
    assert verify().ok
    [counts] = seen
    # The launch's quality bar and SLOs were agreed through the services.
    assert counts[LedgerEvent.BAR_AGREED] == 1
    assert counts[LedgerEvent.SLO_AGREED] >= 1


def test_a_failing_check_makes_verify_report_its_disagreement(registry, launch):
    register_ledger_check(lambda entries: "widget #7 does not match its ledger entry #3")
    result = verify()
    assert not result.ok
    assert result.problem == "widget #7 does not match its ledger entry #3"
    code, _, err = verify_ledger()
    assert (code, err) == (1, "Ledger BROKEN: widget #7 does not match its ledger entry #3.\n")


def test_checks_run_in_registration_order_and_the_first_disagreement_is_reported(registry, launch):
    ran = []

    def first(entries) -> str:
        ran.append("first")
        return "the first disagreement"

    def second(entries) -> str:
        ran.append("second")
        return "the second disagreement"

    register_ledger_check(second, catch_all=True)
    register_ledger_check(first)
    assert verify().problem == "the first disagreement"
    assert ran == ["first"]


def test_a_check_registered_twice_runs_once(registry, launch):
    ran = []

    def check(entries) -> str:
        ran.append(True)
        return ""

    register_ledger_check(check)
    register_ledger_check(check)
    assert verify().ok
    assert ran == [True]
