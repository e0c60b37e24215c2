"""Reading in a real browser: an executive reads the portfolio and a launch in Korean, at laptop
and phone widths; an outsider is refused every launch URL. (Apart from the sign-off scenarios so
that the two modules run on two workers.) Both sign in through the sign-in form, which the other
browser tests skip by giving the browser a session cookie."""

import pytest
from django.contrib.auth import get_user_model

from approvals.models import SignoffRequest
from approvals.services import signoffs_request
from raci.choices import TeamFunction
from tests.browser.conftest import with_password
from tests.builders import ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def launch():
    owner = with_password(UserFactory(username="pam", first_name="Pam", last_name="Okafor"))
    return ready_launch(owner=owner, slug="assistant", name="Support assistant")


def test_an_executive_reads_the_portfolio_and_a_launch_in_korean(visit, launch):
    executive = with_password(StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)]).user)
    reader = visit("executive-ko", locale="ko-KR")
    reader.sign_in_with_the_form(executive.username)  # lands on the portfolio
    content = reader.page.content()
    assert '<html lang="ko">' in content
    assert "포트폴리오" in content and "Support assistant" in content
    reader.snap("portfolio-ko")
    reader.page.click("text=Support assistant")
    reader.page.wait_for_load_state()
    assert "Internal 단계 진입 준비 안 됨" in reader.page.content()
    reader.snap("launch-ko")
    reader.page.click("text=이력")
    reader.page.wait_for_load_state()
    assert "Support assistant" in reader.page.content()
    reader.snap("history-ko")
    phone = visit("executive-ko-phone", locale="ko-KR", width=390)
    phone.sign_in(executive.username)
    phone.goto(f"/launches/{launch.slug}/")
    phone.snap("launch-ko-phone")


def test_an_outsider_is_refused_every_launch_url(visit, launch):
    SignoffRequest.objects.all().delete()
    signoff = signoffs_request(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"))[0]
    with_password(UserFactory(username="otto"))
    outsider = visit("outsider", width=390)
    outsider.sign_in_with_the_form("otto")  # lands on the portfolio
    assert "Support assistant" not in outsider.page.content()
    outsider.snap("empty-portfolio", axe=False)  # the crawl checks the demo outsider's, at both widths
    for path in (
        f"/launches/{launch.slug}/",
        f"/launches/{launch.slug}/advance/",
        f"/launches/{launch.slug}/rollback/",
        f"/signoffs/{signoff.pk}/",
    ):
        response = outsider.goto(path)
        assert response.status == 404, path
        assert "Nothing here" in outsider.page.content()
        assert "Support assistant" not in outsider.page.content()
    outsider.snap("not-found")
    assert get_user_model().objects.filter(username="otto").exists()
