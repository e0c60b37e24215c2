"""A resubmitted form records once and answers as the first did; every POST form carries its key
(web.idempotency, issue 21 point 6). Forms are posted as the browser submits them
(``tests.helpers.submit``/``form_data``), so the key is the one the page rendered."""

from __future__ import annotations

import datetime
import re
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals.models import SignoffDecision, SignoffRequest
from approvals.services import signoffs_request
from readiness.models import DataAsset
from tests.builders import ready_launch
from tests.factories import UserFactory
from tests.helpers import form_data
from web.idempotency import FIELD, submissions_forget
from web.models import Submission

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response


def as_posted(response, which: str, **fields) -> dict[str, list[str]]:
    _form, pairs = form_data(response.content.decode(), which, page_path=response.request["PATH_INFO"], **fields)
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


@pytest.fixture
def ml_request():
    launch = ready_launch()
    (request,) = signoffs_request(
        actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"), functions=["ml"]
    )
    return request


def test_a_decision_sent_twice_is_recorded_once_and_answered_the_same(client, ml_request):
    url = reverse("web:decide", args=[ml_request.pk])
    data = as_posted(page(client, ml_request.addressees.get(), url), url, outcome="approve")
    first = client.post(url, data)
    again = client.post(url, data)
    assert first.status_code == again.status_code == 302
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert SignoffDecision.objects.filter(request=ml_request).count() == 1


def test_a_replay_is_refused_without_the_csrf_token_as_the_first_post_would_be(ml_request):
    """A replay runs no view; the CSRF check still runs first, so another site that learnt a key
    cannot have the person's stored answer sent back to it."""
    browser = Client(enforce_csrf_checks=True)
    url = reverse("web:decide", args=[ml_request.pk])
    data = as_posted(page(browser, ml_request.addressees.get(), url), url, outcome="approve")
    assert browser.post(url, data).status_code == 302

    forged = {name: values for name, values in data.items() if name != "csrfmiddlewaretoken"}
    assert browser.post(url, forged).status_code == 403
    assert browser.post(url, data)["Idempotent-Replayed"] == "true"
    assert SignoffDecision.objects.filter(request=ml_request).count() == 1


def test_a_decision_without_a_key_is_served_as_before(client, ml_request):
    url = reverse("web:decide", args=[ml_request.pk])
    data = as_posted(page(client, ml_request.addressees.get(), url), url, outcome="approve")
    data.pop(FIELD)
    assert client.post(url, data).status_code == 302
    assert not Submission.objects.exists()
    assert SignoffDecision.objects.filter(request=ml_request).count() == 1


def test_a_sign_off_request_sent_twice_asks_once(client):
    launch = ready_launch()
    url = reverse("web:request-signoffs", args=[launch.slug])
    data = as_posted(page(client, launch.owner, url), url, button="Request sign-offs")
    first = client.post(url, data)
    asked = set(SignoffRequest.objects.filter(launch=launch).values_list("pk", flat=True))
    again = client.post(url, data)
    assert (first.status_code, again.status_code) == (302, 302) and again["Location"] == first["Location"]
    # Asking again would have replaced every open request with a new one: nothing was replaced.
    assert set(SignoffRequest.objects.filter(launch=launch).values_list("pk", flat=True)) == asked


def test_the_same_form_sent_with_other_values_is_another_submission(client):
    launch = ready_launch()
    url = reverse("web:fact-add", args=[launch.slug, "dataasset"])
    response = page(client, launch.owner, url)
    for name in ("Product catalogue", "Price list"):
        data = as_posted(response, url, name=name, retention_days="90")
        assert client.post(url, data).status_code == 302
        assert client.post(url, data).status_code == 302  # and again: replayed
    assert DataAsset.objects.filter(launch=launch, name__in=["Product catalogue", "Price list"]).count() == 2


def test_an_idempotency_key_header_is_honoured(client, ml_request):
    client.force_login(ml_request.addressees.get())
    url = reverse("web:decide", args=[ml_request.pk])
    data = as_posted(client.get(url), url, outcome="approve")
    data.pop(FIELD)
    for _ in range(3):
        assert client.post(url, data, HTTP_IDEMPOTENCY_KEY="retry-of-call-42").status_code == 302
    assert SignoffDecision.objects.filter(request=ml_request).count() == 1


def test_a_malformed_key_is_ignored_not_trusted(client, ml_request):
    client.force_login(ml_request.addressees.get())
    url = reverse("web:decide", args=[ml_request.pk])
    data = as_posted(client.get(url), url, outcome="approve")
    data[FIELD] = ["x"]  # too short to be a key
    assert client.post(url, data).status_code == 302
    assert not Submission.objects.exists()


def test_a_refused_submission_is_not_remembered_and_refused_again(client, ml_request):
    outsider = UserFactory()
    url = reverse("web:decide", args=[ml_request.pk])
    data = as_posted(page(client, ml_request.addressees.get(), url), url, outcome="approve")
    client.force_login(outsider)
    assert client.post(url, data).status_code == 404  # not theirs to know of
    assert client.post(url, data).status_code == 404
    assert not Submission.objects.exists()
    assert not SignoffDecision.objects.exists()


def test_keys_belong_to_their_person(client, ml_request):
    """Another person sending a key someone used gets their own answer, not the stored one."""
    approver = ml_request.addressees.get()
    url = reverse("web:decide", args=[ml_request.pk])
    data = as_posted(page(client, approver, url), url, outcome="approve")
    assert client.post(url, data).status_code == 302
    client.force_login(ml_request.requested_by)
    assert client.post(url, data).status_code in (403, 404)  # the requester never decides
    assert SignoffDecision.objects.filter(request=ml_request).count() == 1


def test_answers_older_than_the_retention_are_forgotten(client, ml_request, settings):
    url = reverse("web:decide", args=[ml_request.pk])
    data = as_posted(page(client, ml_request.addressees.get(), url), url, outcome="approve")
    client.post(url, data)
    kept = Submission.objects.get()
    now = timezone.now()
    assert submissions_forget(now=now) == 0
    assert submissions_forget(now=now + datetime.timedelta(hours=settings.SUBMISSION_RETENTION_HOURS + 1)) == 1
    assert not Submission.objects.filter(pk=kept.pk).exists()


FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)


def test_every_post_form_in_every_template_carries_its_key():
    missing, seen = [], 0
    for path in sorted(TEMPLATES.rglob("*.html")):
        for attributes, body in FORM.findall(path.read_text(encoding="utf-8")):
            if not re.search(r'method="post"', attributes, re.I):
                continue
            seen += 1
            included = re.findall(r'{% include "([^"]+)"', body)
            body += "".join((TEMPLATES / name).read_text(encoding="utf-8") for name in included)
            if "{% submission_field %}" not in attributes + body:
                missing.append(f"{path.relative_to(TEMPLATES)}: <form{attributes[:80]}>")
    assert seen > 50
    assert missing == []


def test_a_rendered_form_carries_a_fresh_key_each_time(client, ml_request):
    url = reverse("web:decide", args=[ml_request.pk])
    first = as_posted(page(client, ml_request.addressees.get(), url), url)[FIELD]
    second = as_posted(client.get(url), url)[FIELD]
    assert first != second and len(first[0]) == 32


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers")
@pytest.mark.django_db(transaction=True)
def test_two_identical_posts_at_the_same_moment_record_once_and_answer_alike(ml_request):
    """Real threads, each with its own connection: the unique constraint makes one wait for the
    other's transaction, then answer what it stored."""
    approver = ml_request.addressees.get()
    url = reverse("web:decide", args=[ml_request.pk])
    browser = Client()
    browser.force_login(approver)
    data = as_posted(browser.get(url), url, outcome="approve")
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def post(index: int, data=data, barrier=barrier, answers=answers) -> None:
        try:
            tab = Client()
            tab.cookies = browser.cookies
            barrier.wait(timeout=30)
            answers[index] = tab.post(url, data)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [answer.status_code for answer in answers] == [302, 302]
    assert answers[0]["Location"] == answers[1]["Location"]
    assert sum(answer.has_header("Idempotent-Replayed") for answer in answers) == 1
    assert SignoffDecision.objects.filter(request=ml_request).count() == 1
