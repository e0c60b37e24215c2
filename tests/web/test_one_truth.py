"""One truth on every page (issue 20, point 4): a write that affects a launch's verdict, standing
or sign-offs re-judges it once its transaction commits, so the portfolio never says "holds" beside
a breached SLO nor "none pending" beside a rejection. Each write is tried both ways. The module's
launch (in Internal, its Beta sign-offs requested) is built once; each test runs in a savepoint
and runs the commit's callbacks with ``django_capture_on_commit_callbacks(execute=True)``."""

from __future__ import annotations

import datetime
import logging
import re
from decimal import Decimal

import pytest
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from approvals.models import SignoffRequest, StageStanding
from approvals.services import signoff_decide, signoffs_request
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from operations.models import SliSource
from operations.services import Measurement, sli_record
from readiness.models import Launch
from readiness.services import fact_change, fact_version
from tests.builders import launch_at

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """Built as if committed: what its commit would run, runs (the stage is judged holding)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        launch = launch_at("Internal")
        signoffs_request(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Beta"))
    return launch.pk


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    return Launch.objects.select_related("owner").get(pk=shared_launch)


def portfolio_cells(client, launch) -> dict[str, str]:
    """The launch's row on the portfolio, cell by cell (keyed by column label), tags stripped."""
    client.force_login(launch.owner)
    page = client.get(reverse("web:portfolio")).content.decode()
    href = f'href="{reverse("web:launch", args=[launch.slug])}"'
    (row,) = [row for row in re.findall(r"<tr>(.*?)</tr>", page, re.S) if href in row]
    cells = re.findall(r'<td data-label="([^"]*)"[^>]*>(.*?)</td>', row, re.S)
    return {label: " ".join(re.sub(r"<[^>]+>", " ", html).split()) for label, html in cells}


def standing(launch) -> tuple[bool, list[str]] | None:
    found = StageStanding.objects.filter(launch=launch).first()
    return None if found is None else (found.holds, found.reasons)


def beta_request(launch, function: str) -> SignoffRequest:
    return launch.signoff_requests.get(stage__name="Beta", function=function, status="pending")


def record_success_rate(launch, value: str, capture) -> None:
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    with capture(execute=True):
        sli_record(
            actor=launch.owner,
            launch=launch,
            measurements=[Measurement(day=yesterday, indicator="success_rate", value=Decimal(value))],
            source=SliSource.FORM,
        )


def test_an_slo_breach_recorded_makes_the_stage_lapse_at_once_and_a_good_value_restores_it(
    launch, client, django_capture_on_commit_callbacks
):
    record_success_rate(launch, "91.0", django_capture_on_commit_callbacks)
    assert standing(launch) == (False, ["operating_within_slos"])
    assert "no longer holds" in portfolio_cells(client, launch)["Operations health"]
    assert LedgerEntry.objects.filter(launch=launch, event=LedgerEvent.STAGE_LAPSED).count() == 1

    record_success_rate(launch, "99.9", django_capture_on_commit_callbacks)  # the day corrected
    assert standing(launch) == (True, [])
    assert portfolio_cells(client, launch)["Operations health"] == "holds"
    assert LedgerEntry.objects.filter(launch=launch, event=LedgerEvent.STAGE_RESTORED).count() == 1


def test_values_within_the_slos_keep_the_stage_holding_and_ledger_nothing(
    launch, client, django_capture_on_commit_callbacks
):
    record_success_rate(launch, "99.9", django_capture_on_commit_callbacks)
    assert standing(launch) == (True, [])
    assert portfolio_cells(client, launch)["Operations health"] == "holds"
    assert not LedgerEntry.objects.filter(
        launch=launch, event__in=[LedgerEvent.STAGE_LAPSED, LedgerEvent.STAGE_RESTORED]
    ).exists()


def test_a_fact_change_that_breaks_a_gating_item_lapses_the_stage_and_undoing_it_restores_it(
    launch, client, django_capture_on_commit_callbacks
):
    asset = launch.data_assets.get(name="Support tickets")
    with django_capture_on_commit_callbacks(execute=True):
        fact_change(actor=launch.owner, fact=asset, seen_version=fact_version(asset), values={"masked_in_logs": False})
    # The change is material: the stage's approvals, given on other facts, no longer count either.
    assert standing(launch) == (False, ["stakeholders_approved", "pii_policy"])
    assert "no longer holds" in portfolio_cells(client, launch)["Operations health"]

    asset.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        fact_change(actor=launch.owner, fact=asset, seen_version=fact_version(asset), values={"masked_in_logs": True})
    assert standing(launch) == (True, [])
    assert portfolio_cells(client, launch)["Operations health"] == "holds"


def test_a_rejected_sign_off_shows_as_rejected_on_the_portfolio_and_the_launch_page(
    launch, client, django_capture_on_commit_callbacks
):
    request = beta_request(launch, "legal")
    before = portfolio_cells(client, launch)["Sign-offs"]
    assert "rejected" not in before and "pending" in before
    with django_capture_on_commit_callbacks(execute=True):
        signoff_decide(
            actor=request.addressees.first(), signoff=request, outcome="reject", comment="Retention is too long."
        )
    cells = portfolio_cells(client, launch)
    assert "1 rejected" in cells["Sign-offs"] and "none pending" not in cells["Sign-offs"]
    assert "Blocked" in cells["Readiness"]
    page = client.get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert page.count('signoff-status">Rejected<') == 1


def test_a_change_request_shows_as_such_even_when_nothing_else_is_pending(
    launch, client, django_capture_on_commit_callbacks
):
    requests = list(launch.signoff_requests.filter(stage__name="Beta", status="pending"))
    with django_capture_on_commit_callbacks(execute=True):
        for request in requests[1:]:
            signoff_decide(actor=request.addressees.first(), signoff=request, outcome="approve")
        signoff_decide(
            actor=requests[0].addressees.first(), signoff=requests[0], outcome="request_changes", comment="Name a DPO."
        )
    cells = portfolio_cells(client, launch)
    assert "1 change request" in cells["Sign-offs"]
    assert "pending" not in cells["Sign-offs"]
    page = client.get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert page.count('signoff-status">Changes requested<') == 1


def test_approving_every_sign_off_leaves_none_pending_and_nothing_objected(
    launch, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for request in launch.signoff_requests.filter(stage__name="Beta", status="pending"):
            signoff_decide(actor=request.addressees.first(), signoff=request, outcome="approve")
    cells = portfolio_cells(client, launch)
    assert cells["Sign-offs"] == "none pending"
    assert "Ready" in cells["Readiness"]
    assert 'signoff-status"' not in client.get(reverse("web:launch", args=[launch.slug])).content.decode()


def test_a_current_stage_approval_turned_into_a_rejection_lapses_the_stage_and_approving_again_restores_it(
    launch, client, django_capture_on_commit_callbacks
):
    request = launch.signoff_requests.filter(stage__name="Internal", status="approved").first()
    approver = request.decisions.get(superseded_at__isnull=True).decided_by
    with django_capture_on_commit_callbacks(execute=True):
        signoff_decide(actor=approver, signoff=request, outcome="reject", comment="The runbook is out of date.")
    assert standing(launch) == (False, ["stakeholders_approved"])
    cells = portfolio_cells(client, launch)
    assert "no longer holds" in cells["Operations health"] and "1 rejected" in cells["Sign-offs"]

    with django_capture_on_commit_callbacks(execute=True):
        signoff_decide(actor=approver, signoff=request, outcome="approve")
    assert standing(launch) == (True, [])
    assert portfolio_cells(client, launch)["Operations health"] == "holds"


def test_a_broker_that_is_down_after_the_commit_never_turns_the_saved_change_into_an_error(
    launch, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    from readiness.tasks import refresh_launch_evaluations

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(refresh_launch_evaluations, "delay", broker_down)
    asset = launch.data_assets.get(name="Support tickets")
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        fact_change(actor=launch.owner, fact=asset, seen_version=fact_version(asset), values={"masked_in_logs": False})
    asset.refresh_from_db()
    assert asset.masked_in_logs is False  # saved
    assert "the periodic run will" in caplog.text
    assert standing(launch) == (True, [])  # as before the change: the daily run (or the next change) judges it
