"""Sign-offs add rows to every evaluation; the number of queries must not grow with them.

The launches with a sign-off history are built once per module (``shared_launches``); each test
runs inside them in a savepoint of its own (like ``setUpTestData``)."""

import pytest
from django.db import transaction

from approvals.services import signoff_decide, signoffs_request
from readiness.checklist import evaluate, evaluate_many, with_checklist_facts
from readiness.models import Launch
from tests.builders import approve_signoffs, ready_launch

pytestmark = pytest.mark.django_db

# select_related launch + one query per prefetch lookup (stages, facts, RACI, sign-offs, waivers).
# 18 measured with a sign-off history (quality bars and SLOs come with the users who agreed them);
# a policy adds one; incidents (items 13, 14) and the feedback channels' failure reviews (item 11's
# cadence) one more each.
MAX_QUERIES = 21


def _with_signoff_history(slug: str) -> Launch:
    launch = ready_launch(slug=slug, name=slug)
    approve_signoffs(launch, "Internal")
    for request in signoffs_request(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Beta")):
        addressee = request.addressees.first()
        signoff_decide(actor=addressee, signoff=request, outcome="reject", comment="Not yet.")
        signoff_decide(actor=addressee, signoff=request, outcome="approve")
    return launch


@pytest.fixture(scope="module")
def shared_launches(django_db_setup, django_db_blocker) -> list[int]:
    """Three launches with a sign-off history (a page of two, then of three, is enough to show a
    count that grows with the page), built once per module in a transaction rolled back at its end;
    returns their primary keys."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield [_with_signoff_history(f"busy-{index}").pk for index in range(3)]
        transaction.set_rollback(True)


def test_evaluating_one_launch_does_not_grow_with_its_sign_offs(shared_launches, django_assert_max_num_queries):
    quiet = ready_launch(slug="quiet", name="Quiet")
    busy = Launch.objects.get(pk=shared_launches[0])
    for launch in (quiet, busy):
        with django_assert_max_num_queries(MAX_QUERIES):
            readiness = evaluate(with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get())
        assert readiness.results[0].key == "stakeholders_approved"


def test_evaluating_a_page_of_launches_does_not_grow_with_the_page(shared_launches, django_assert_max_num_queries):
    with django_assert_max_num_queries(MAX_QUERIES) as two:
        evaluate_many(Launch.objects.filter(pk__in=shared_launches[:2]))
    with django_assert_max_num_queries(MAX_QUERIES) as three:
        results = evaluate_many(Launch.objects.filter(pk__in=shared_launches))
    assert len(results) == 3
    assert len(three.captured_queries) == len(two.captured_queries)
