"""The sign-off workflow's write paths cost the same number of queries however many sign-off
requests the launch already has (the fact services at two sizes of RACI: ``tests/raci/test_agreements``)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.models import SignoffRequest
from approvals.services import signoff_decide, signoff_withdraw, signoffs_request, stage_advance
from readiness.models import Launch
from tests.builders import ready_launch

pytestmark = pytest.mark.django_db


def _launch_with_request_history(slug: str, rounds: int) -> Launch:
    """A ready launch whose Internal sign-offs were requested and withdrawn ``rounds`` times."""
    launch = ready_launch(slug=slug, name=slug)
    internal = launch.stages.get(name="Internal")
    for _ in range(rounds):
        for request in signoffs_request(actor=launch.owner, launch=launch, stage=internal):
            signoff_withdraw(actor=launch.owner, signoff=request, reason="Asked too early")
    return launch


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured)


def _write_costs(launch: Launch) -> dict[str, int]:
    launch = Launch.objects.select_related("owner").get(pk=launch.pk)
    owner = launch.owner
    internal, beta = launch.stages.get(name="Internal"), launch.stages.get(name="Beta")
    requested: list[SignoffRequest] = []
    costs = {
        "request sign-offs": _queries(
            lambda: requested.extend(signoffs_request(actor=owner, launch=launch, stage=internal))
        )
    }
    first, *rest = requested
    costs["decide"] = _queries(
        lambda: signoff_decide(actor=first.addressees.get(), signoff=first, outcome="approve", comment="")
    )
    for request in rest:
        signoff_decide(actor=request.addressees.get(), signoff=request, outcome="approve")
    costs["advance"] = _queries(lambda: stage_advance(actor=owner, launch=launch, stage=internal))
    pending = signoffs_request(actor=owner, launch=launch, stage=beta)[0]
    costs["withdraw"] = _queries(lambda: signoff_withdraw(actor=owner, signoff=pending, reason="Not yet"))
    return costs


def test_sign_off_write_paths_cost_the_same_with_4_or_40_earlier_requests():
    small = _launch_with_request_history("small", 1)
    large = _launch_with_request_history("large", 10)
    assert SignoffRequest.objects.filter(launch=large).count() == 40
    costs = _write_costs(small)
    assert costs == _write_costs(large)
    # Measured: requesting 4 sign-offs 147 (each checks the policy, grants the addressees view,
    # writes history, a ledger entry with the launch's snapshot, a mail and an in-app notice; the
    # addressees' notification preferences are read once for all four),
    # deciding 83 (the decision's snapshot is the whole checklist's, which now reads incidents and
    # failure reviews too), advancing 59 (53, and 6 to record the launch row's new stage as a sealed
    # fact: readiness.recording), withdrawing 41;
    # telling people of a decision, an advance or a withdrawal costs 5-6 of those (who, who was
    # told already, who of them sees the launch, the notices, their preferences, the mails),
    # whatever the number of recipients. Measured after notices reached only who sees the launch
    # and the launch row was sealed: 149, 84, 60?, 42.
    assert costs["request sign-offs"] <= 150 and costs["decide"] <= 85, costs
    assert costs["advance"] <= 62 and costs["withdraw"] <= 43, costs
