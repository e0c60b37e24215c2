"""A quality bar typed in percent in a real browser, as a PM would: 150 is refused in words, a
readable metric name gets its key, 2.5 is kept as 2.5 % (stored as 0.025)."""

from decimal import Decimal

import pytest

from readiness.models import QualityBar
from tests.browser.conftest import with_password
from tests.builders import ready_launch
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def launch():
    owner = with_password(UserFactory(username="pam", first_name="Pam", last_name="Okafor"))
    return ready_launch(owner=owner, slug="assistant", name="Support assistant")


def test_the_pm_types_a_bar_in_percent_with_a_readable_metric_name(visit, launch):
    pm = visit("pm", width=390)
    pm.sign_in("pam")
    pm.goto(f"/launches/{launch.slug}/facts/qualitybar/add/")
    pm.page.fill("input[name=metric]", "Wrong amounts")
    pm.page.fill("textarea[name=failure_definition]", "An amount that differs from the invoice.")
    pm.page.fill("input[name=max_failure_rate]", "150")
    pm.page.click("main form button[type=submit]")
    pm.page.wait_for_load_state()
    assert "Enter a percentage from 0 % up to, not including, 100 %." in pm.page.inner_text("main")
    assert not QualityBar.objects.filter(launch=launch, metric="wrong_amounts").exists()
    pm.snap("refused")
    pm.page.fill("input[name=max_failure_rate]", "2.5")
    pm.page.click("main form button[type=submit]")
    pm.page.wait_for_load_state()
    bar = QualityBar.objects.get(launch=launch, metric="wrong_amounts")
    assert bar.max_failure_rate == Decimal("0.025")
    assert "max failure rate: 2.5 %" in pm.page.inner_text("#facts-qualitybar")
    pm.snap("saved")
