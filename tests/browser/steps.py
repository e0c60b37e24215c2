"""Steps the browser scenarios share: the PM requests sign-offs, an approver decides from My sign-offs."""

import datetime

from approvals.models import SignoffRequest
from readiness.models import Launch
from tests.browser.conftest import with_password


def request_signoffs(pm, launch: Launch, stage: str = "Internal") -> None:
    pm.goto(f"/launches/{launch.slug}/")
    pm.snap("launch-before-requests", axe=False)  # the crawl checks launch pages in planning
    if pm.page.query_selector("#request-signoffs button[disabled]"):
        # The launch page offers the request once the checklist passes; before, the request
        # page still lets the owner ask, seeing whom.
        pm.page.click("#request-signoffs >> text=See who will be asked…")
        pm.page.wait_for_load_state()
    pm.page.fill("#id_due_date", (datetime.date.today() + datetime.timedelta(days=7)).isoformat())
    pm.page.fill("#id_message", f"Please review {launch.name} for {stage}.")
    pm.page.click("text=Request sign-offs >> nth=-1")
    pm.page.wait_for_load_state()
    if "Agreements are still pending" in pm.page.content():
        # A quality bar or an SLO still waits for its Accountable: the PM asks anyway, knowingly.
        pm.snap("agreements-pending")
        pm.page.click("text=Request sign-offs anyway")
        pm.page.wait_for_load_state()
    count = SignoffRequest.objects.filter(launch=launch, stage__name=stage, status="pending").count()
    assert f"Requested {count} sign-offs for {stage}." in pm.page.content()
    pm.snap("launch-requested")


def addressee(launch: Launch, function: str):
    """The person the request for ``function`` was routed to (through the RACI and the slots)."""
    return with_password(SignoffRequest.objects.filter(launch=launch, function=function).latest("pk").addressees.get())


def decide(approver, launch: Launch, outcome: str, comment: str = "") -> None:
    approver.goto("/signoffs/")
    approver.snap("inbox", axe=False)  # the crawl checks inboxes with sign-offs waiting
    approver.page.click(f"text={launch.name} >> nth=0")
    approver.page.wait_for_load_state()
    approver.snap("decision-page", axe=False)  # and their decision pages
    approver.page.check(f"input[name=outcome][value={outcome}]")
    if comment:
        approver.page.fill("#id_comment", comment)
    approver.page.click("text=Record my decision")
    approver.page.wait_for_load_state()
