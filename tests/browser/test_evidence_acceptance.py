"""An evaluation run the owner records waits for someone of the bar's function, clicked through in a
real browser: the owner's form, the approver's My sign-offs and the Accept button."""

import pytest

from raci.choices import AreaKind
from readiness.models import EvalRun
from tests.browser.conftest import with_password
from tests.builders import SERVING_VERSION, accountable_of, ready_launch
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def launch():
    owner = with_password(UserFactory(username="pam", first_name="Pam", last_name="Okafor"))
    return ready_launch(owner=owner, slug="assistant", name="Support assistant")


def test_the_owner_s_run_waits_until_the_ml_accountable_accepts_it_in_the_browser(visit, launch):
    ml = with_password(accountable_of(launch, AreaKind.MODEL_QUALITY).user)
    pm = visit("pm")
    pm.sign_in("pam")
    pm.goto(f"/launches/{launch.slug}/facts/evalrun/add/")
    pm.page.select_option("select[name=quality_bar]", index=1)
    pm.page.fill("input[name=samples]", "1000")
    pm.page.fill("input[name=failures]", "0")
    pm.page.fill("input[name=golden_set_name]", "own-set")
    pm.page.fill("input[name=golden_set_version]", "1")
    pm.page.select_option("select[name=golden_set_owner]", index=1)
    pm.page.fill("input[name=measured_version]", SERVING_VERSION)
    pm.page.fill("input[name=human_reviewed]", "1000")
    pm.page.click("main form button[type=submit]")
    pm.page.wait_for_load_state()
    run = EvalRun.objects.get(golden_set_name="own-set")
    assert run.needs_acceptance and run.accepted_by is None
    assert "waiting for acceptance by" in pm.page.inner_text("#facts-evalrun")
    assert "Accept as evidence" not in pm.page.inner_text("#facts-evalrun")
    pm.snap("run-waits")

    approver = visit("ml", width=390)
    approver.sign_in(ml.username)
    approver.goto("/signoffs/")
    assert "Evaluation runs to accept" in approver.page.content()
    approver.snap("inbox")
    approver.page.click(f"#runs-heading ~ table >> text={launch.name}")
    approver.page.wait_for_load_state()
    approver.page.click("#facts-evalrun button:has-text('Accept as evidence')")
    approver.page.wait_for_load_state()
    run.refresh_from_db()
    assert run.accepted_by == ml and run.counts
    assert "accepted as evidence by" in approver.page.inner_text("#facts-evalrun")
    approver.snap("accepted")
