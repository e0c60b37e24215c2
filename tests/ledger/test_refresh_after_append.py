"""What an append asks of the commit: every ledgered change of a launch refreshes what its pages
store of it (``readiness.evaluations.evaluate_after_commit``), once per transaction and launch however
many entries it appends; the entries that refresh itself records (a stage lapsed or holds again)
ask for nothing, so a refresh never schedules another."""

from __future__ import annotations

import pytest
from django.db import transaction

from ledger import chain
from ledger.events import LedgerEvent
from tests.factories import LaunchFactory

pytestmark = pytest.mark.django_db


def _evaluations(callbacks) -> int:
    return sum(getattr(callback, "__qualname__", "").startswith("evaluate_after_commit") for callback in callbacks)


def test_many_appends_for_two_launches_in_one_transaction_schedule_one_refresh_each(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        first, second = LaunchFactory(), LaunchFactory()
        for launch in (first, second, first, second, first):
            chain.append(event=LedgerEvent.FACT_RECORDED, launch=launch, actor=None, payload={"n": launch.pk})
    assert _evaluations(callbacks) == 2


@pytest.mark.parametrize(
    ("event", "refreshes"),
    [(LedgerEvent.FACT_RECORDED, True), (LedgerEvent.STAGE_LAPSED, False), (LedgerEvent.STAGE_RESTORED, False)],
)
def test_what_the_refresh_itself_records_asks_for_no_refresh(monkeypatch, event, refreshes):
    launch = LaunchFactory()
    asked = []
    monkeypatch.setattr(chain, "evaluate_after_commit", asked.append)
    with transaction.atomic():
        chain.append(event=event, launch=launch, actor=None, payload={})
    assert asked == ([launch.pk] if refreshes else [])
