"""How much work it is to set up a launch: from "New launch" to "sign-offs requested" for Internal,
for a launch from the template, by real clicks on the real buttons. The clicks (``page.click``,
one per button or link pressed), the ticks and choices in forms, and the page loads are counted
and printed; the agreements only the Accountables may give (the ML Accountable's quality bar, the
Platform Accountable's two SLOs, which the request page would otherwise warn about) are counted in."""

import datetime

import pytest

from approvals.models import SignoffRequest
from readiness.models import Launch
from tests.browser.conftest import with_password
from tests.builders import team_for
from tests.factories import StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

CLICK_BUDGET = 20


class Counted:
    """A visitor's page whose clicks, ticks, choices and page loads are counted."""

    def __init__(self, visitor):
        self.visitor, self.page = visitor, visitor.page
        self.clicks = self.ticks = self.choices = self.loads = 0
        self.page.on("load", lambda _page: self._loaded())

    def _loaded(self) -> None:
        self.loads += 1

    def click(self, selector: str) -> None:
        self.clicks += 1
        self.page.click(selector)
        self.page.wait_for_load_state()

    def tick(self, selector: str) -> None:
        self.ticks += 1
        self.page.check(selector)

    def choose(self, selector: str, label: str) -> None:
        self.choices += 1
        self.page.select_option(selector, label=label)


def _person(first: str, last: str, function: str):
    user = with_password(UserFactory(username=first.lower(), first_name=first, last_name=last))
    return StakeholderFactory(user=user, teams=[team_for(function)])


STAFF = [
    ("Model/prompt quality", "Mia Chen (ML)"),
    ("Infrastructure and deployment", "Pat Novak (Platform)"),
    ("Data and retrieval quality", "Dana Kim (Data)"),
    ("User experience and fallbacks", "Priya Shah (Product)"),
    ("Policy and guardrails", "Lena Fischer (Legal)"),
]


def test_from_new_launch_to_sign_offs_requested_takes_fewer_than_twenty_clicks(visit):
    with_password(UserFactory(username="pam", first_name="Pam", last_name="Okafor"))
    _person("Mia", "Chen", "ml")
    _person("Pat", "Novak", "platform")
    _person("Dana", "Kim", "data")
    _person("Priya", "Shah", "product")
    _person("Lena", "Fischer", "legal")
    pm = Counted(visit("pm"))
    pm.visitor.sign_in("pam")
    pm.visitor.goto("/")
    pm.loads = 0  # counted from the portfolio on

    pm.click("text=New launch")
    pm.page.fill("#id_name", "Claims triage")
    pm.click("text=Create the launch")
    launch = Launch.objects.get(name="Claims triage")
    pm.visitor.snap("created")
    pm.click("#proposals button[type=submit]")
    assert "Confirmed the proposed values of 9 facts." in pm.page.content()
    # The page opens at the facts, and the message that says so is in view there, not off-screen.
    assert pm.page.evaluate("window.scrollY") > 0
    shown = pm.page.locator("main > [role=status]").bounding_box()
    assert shown is not None and 0 <= shown["y"] < 100

    pm.click("#facts-dataasset >> text=Add data asset")
    pm.page.fill("#id_name", "Claim forms")
    pm.choose("#id_classification", "Internal")
    pm.choose("#id_access_level", "All employees")
    pm.click("main button[type=submit]")

    for area, person in STAFF:  # each area's Accountable, Responsible too
        pm.click("text=Assign a person")
        if area == STAFF[0][0]:
            pm.visitor.snap("assign-a-person")
        pm.choose("#id_area", area)
        pm.choose("#id_stakeholder", person)
        pm.tick("input[name=roles][value=A]")
        pm.tick("input[name=roles][value=R]")
        pm.click("main button[type=submit]")
        assert f"is now Accountable, Responsible on {area}." in pm.page.content()
    pm.page.reload()
    pm.loads -= 1  # only to take the screenshot of the page as it now is
    pm.visitor.snap("staffed")

    mia = Counted(visit("mia"))
    mia.visitor.sign_in("mia")
    mia.visitor.goto(f"/launches/{launch.slug}/")
    mia.loads = 1  # the link in the notice or the next steps would open the page
    mia.click("#facts-qualitybar >> text=Agree as shown")

    pat = Counted(visit("pat"))
    pat.visitor.sign_in("pat")
    pat.visitor.goto(f"/launches/{launch.slug}/")
    pat.loads = 1
    for _slo in range(2):
        pat.click("#facts-slo >> text=Agree as shown >> nth=0")

    pm.page.reload()
    pm.page.fill("#id_due_date", (datetime.date.today() + datetime.timedelta(days=7)).isoformat())
    pm.click("#request-signoffs button[type=submit]")
    assert "Requested 2 sign-offs for Internal." in pm.page.content()
    assert SignoffRequest.objects.filter(launch=launch, stage__name="Internal", status="pending").count() == 2
    pm.visitor.snap("requested")

    people = {"PM": pm, "ML Accountable": mia, "Platform Accountable": pat}
    clicks = sum(person.clicks for person in people.values())
    print(
        f"\nNew launch → sign-offs requested: {clicks} clicks "
        f"({', '.join(f'{role} {person.clicks}' for role, person in people.items())}), "
        f"{sum(p.ticks for p in people.values())} ticks, {sum(p.choices for p in people.values())} choices from lists, "
        f"{sum(p.loads for p in people.values())} page loads "
        f"({', '.join(f'{role} {person.loads}' for role, person in people.items())})"
    )
    assert clicks < CLICK_BUDGET
