"""The notifications page in a real browser (issue 20, point 7): an approver filters what waits for
them, marks one change's group read with its own button (htmx redraws it in place), then marks
everything the filter shows read; the header's count follows. At 1280 and 390 px, in English and
Korean, with axe-core on each page."""

import pytest

from approvals.choices import NotificationEvent
from notifications.models import Notification
from notifications.notices import one_change
from notifications.services import notify
from tests.browser.conftest import with_password
from tests.factories import LaunchFactory, UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db(transaction=True)


def ask(launch, person, key, stage):
    notify(
        event=NotificationEvent.ACKNOWLEDGEMENT_REQUESTED,
        key=key,
        launch=launch,
        actor=None,
        recipients=[person],
        payload={"launch": launch.name, "stage": stage, "person": "Pam Okafor"},
        link=f"/launches/{launch.slug}/",
    )


@pytest.fixture
def approver():
    lena = with_password(UserFactory(username="lena", first_name="Lena", last_name="Fischer"))
    assistant = LaunchFactory(slug="assistant", name="Support assistant")
    billing = LaunchFactory(slug="billing", name="Billing FAQ")
    give_view(lena, assistant), give_view(lena, billing)
    with one_change():  # one request asking twice: one group
        ask(assistant, lena, "ack:1", "Internal")
        ask(assistant, lena, "ack:2", "Beta")
    with one_change():
        ask(billing, lena, "ack:3", "Internal")
    with one_change():  # someone else's decision: filed for the digest
        notify(
            event=NotificationEvent.SIGNOFF_DECIDED,
            key="decision:1",
            launch=billing,
            actor=None,
            recipients=[lena],
            payload={"launch": billing.name, "stage": "Beta", "function": "ml", "person": "Mia", "outcome": "approve"},
            link="/launches/billing/",
        )
    return lena


@pytest.mark.parametrize(("width", "locale"), [(1280, "en-GB"), (390, "ko-KR")])
def test_an_approver_filters_and_marks_a_group_then_everything_shown_read(visit, approver, width, locale):
    lena = visit("approver", width=width, locale=locale)
    lena.sign_in(approver.username)
    lena.goto("/notifications/")
    page = lena.page
    assert page.locator(".site-nav .badge").last.inner_text() == "2"  # two groups; the filed decision not counted
    lena.snap("everything")

    page.click(".notice-filters a >> nth=0")  # "Waiting for me"
    page.wait_for_load_state()
    assert page.url.endswith("/notifications/?show=waiting")
    assert page.locator("li.notification").count() == 2
    lena.snap("waiting")

    group = page.locator("li.notification", has_text="Support assistant")
    group.locator("button").click()  # "Mark these as read", by htmx
    page.wait_for_function(
        "() => !document.querySelector('li.notification.unread button') || "
        "document.querySelectorAll('li.notification.unread').length === 1"
    )
    assert page.locator("li.notification.unread").count() == 1
    assert set(Notification.objects.filter(read_at__isnull=False).values_list("key", flat=True)) == {"ack:1", "ack:2"}

    page.click(".notice-filters-action button")  # "Mark all shown read"
    page.wait_for_load_state()
    assert page.url.endswith("/notifications/?show=waiting")
    assert page.locator("li.notification.unread").count() == 0
    assert page.locator(".site-nav .badge").count() == 0
    # Only what the filter showed: the filed decision stays unread (and uncounted).
    assert list(Notification.objects.filter(read_at__isnull=True).values_list("key", flat=True)) == ["decision:1"]
    lena.snap("all-read")
