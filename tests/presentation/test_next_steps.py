"""The next steps of a launch, as the launch page (and a report or the API) can show them: derived
from the checklist's evaluation and the sign-offs, naming who may take each step."""

import pytest
from django.utils import timezone

from approvals.selectors import stage_signoffs
from presentation.launch import launch_as_shown
from presentation.next_steps import next_steps
from raci.choices import AreaKind, Role
from raci.models import RaciAssignment
from readiness.checklist import evaluate
from readiness.services import launch_create_from_template
from tests.builders import approve_signoffs, ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db


def _steps(launch, user, proposed=0):
    facts = launch_as_shown(launch.pk)
    readiness = evaluate(facts)
    return next_steps(
        facts,
        readiness,
        stage_signoffs(facts, readiness.stage, now=timezone.now()) if readiness.stage else [],
        user,
        proposed=proposed,
    )


def test_a_new_launch_waits_for_its_facts_before_its_sign_offs():
    owner = UserFactory(first_name="Pam", last_name="Okafor")
    launch = launch_create_from_template(actor=owner, template="genai-feature", name="Claims", slug="claims")
    mia = StakeholderFactory(user=UserFactory(first_name="Mia", last_name="Chen"), teams=[team_for("ml")])
    RaciAssignment.objects.create(
        area=launch.areas.get(kind=AreaKind.MODEL_QUALITY), stakeholder=mia, role=Role.ACCOUNTABLE
    )
    steps = _steps(launch, owner, proposed=9)
    actions = [step.action for step in steps.steps]
    assert actions[0] == "Confirm the 9 values the template proposed, or change them"
    assert "Assign a Legal stakeholder" in actions
    agree = next(step for step in steps.steps if step.action.startswith("Agree the quality bar"))
    assert (agree.people, agree.mine) == (("Mia Chen (Accountable)",), False)
    assert next(s for s in _steps(launch, mia.user).steps if s.action.startswith("Agree the quality bar")).mine
    request = steps.steps[-1]
    assert request.action == "Request sign-offs for Internal" and request.waiting and request.mine
    assert not steps.ready_for_signoffs and steps.failing_before_signoffs == 3  # agreement, RACI, data


def test_a_ready_launch_is_asked_for_its_sign_offs_then_advanced():
    launch = ready_launch(owner=UserFactory(first_name="Pam"))
    steps = _steps(launch, launch.owner)
    assert steps.ready_for_signoffs
    assert [(s.action, s.waiting) for s in steps.steps] == [("Request sign-offs for Internal", False)]
    approve_signoffs(launch, "Internal")
    steps = _steps(launch, UserFactory())
    assert [(s.action, s.url_name, s.mine) for s in steps.steps] == [("Advance to Internal", "web:advance", False)]
