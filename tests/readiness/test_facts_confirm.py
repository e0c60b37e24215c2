"""``facts_confirm``: every proposal the caller saw confirmed in one transaction, as ``fact_confirm``
confirms one; a resubmit changes nothing; a change since refuses all; only the owner, never on an
archived launch."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from readiness.models import SLO, QualityBar, RolloutStage, SeverityLevel
from readiness.services import EditConflict, fact_change, fact_version, facts_confirm, launch_create_from_template
from tests.factories import UserFactory
from tests.helpers import archive, give_view

pytestmark = pytest.mark.django_db


@pytest.fixture
def launch():
    owner = UserFactory()
    return launch_create_from_template(actor=owner, template="genai-feature", name="Claims", slug="claims")


def _seen(launch) -> dict:
    return {
        (model, fact.pk): fact_version(fact)
        for model in (RolloutStage, SLO, SeverityLevel)
        for fact in model.objects.filter(launch=launch).exclude(proposed=[])
    }


def _proposed(launch) -> int:
    return sum(m.objects.filter(launch=launch).exclude(proposed=[]).count() for m in (RolloutStage, SLO, SeverityLevel))


def test_every_proposal_seen_is_confirmed_once(launch):
    seen = _seen(launch)
    confirmed = facts_confirm(actor=launch.owner, launch=launch, seen=seen)
    assert len(confirmed) == len(seen) == 9 and _proposed(launch) == 0
    assert facts_confirm(actor=launch.owner, launch=launch, seen=seen) == []  # the same form again


def test_a_fact_changed_since_refuses_them_all(launch):
    seen = _seen(launch)
    internal = RolloutStage.objects.get(launch=launch, name="Internal")
    fact_change(actor=launch.owner, fact=internal, seen_version=fact_version(internal), values={"name": "Staff"})
    with pytest.raises(EditConflict):
        facts_confirm(actor=launch.owner, launch=launch, seen=seen)
    assert _proposed(launch) == 9


def test_a_proposal_someone_changed_is_theirs_and_skipped(launch):
    seen = _seen(launch)
    level = SeverityLevel.objects.filter(launch=launch).first()
    fact_change(actor=launch.owner, fact=level, seen_version=fact_version(level), values={"response_minutes": 20})
    assert len(facts_confirm(actor=launch.owner, launch=launch, seen=seen)) == 8
    level.refresh_from_db()
    assert level.response_minutes == 20


def test_only_the_owner_of_a_live_launch_confirms(launch):
    seen = _seen(launch)
    with pytest.raises(PermissionDenied):
        facts_confirm(actor=give_view(UserFactory(), launch), launch=launch, seen=seen)
    bar = QualityBar.objects.get(launch=launch)
    with pytest.raises(ValidationError, match="has no proposed values"):
        facts_confirm(actor=launch.owner, launch=launch, seen={(QualityBar, bar.pk): fact_version(bar)})
    archive(launch)
    with pytest.raises(ValidationError):
        facts_confirm(actor=launch.owner, launch=launch, seen=seen)
    assert _proposed(launch) == 9
