"""A resubmitted form records once and answers as the first did (issue 21, point 6).

Every POST form carries a one-time key (``{% submission_field %}``, a hidden ``submission`` input
made fresh each time the form is rendered); an API client sends an ``Idempotency-Key`` header. For a
signed-in person's POST with a key, the middleware runs the whole request in one transaction that
first inserts a ``Submission`` row (user, key, fingerprint of the body) and, once the view has
answered, stores the answer in it:

- a resubmission (the browser's "send again", a double click, a client retrying after a timeout or
  a 503) finds the row and gets the stored answer; the view does not run;
- two identical POSTs at the same moment both insert: the unique constraint makes the second wait
  for the first's transaction, then fail; it answers what the first stored (or, when the first
  rolled back, acts itself);
- a refused or failed request answered 4xx or 5xx stores nothing, so sending it again acts again;
  a 5xx also rolls back whatever the request wrote, so a crash never leaves half an action behind.
  A form refused with its errors shown again (200) is stored like any answer: sent again
  unchanged, it shows the same errors without running the view.

A POST without a key (sign-in, a test's hand-made POST) is served as before. Rows are kept for
``SUBMISSION_RETENTION_HOURS``; ``submissions_forget`` deletes older ones."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import re
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .models import Submission

logger = logging.getLogger(__name__)

FIELD = "submission"
HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")
# What a stored answer keeps of the response's headers (htmx reads its own HX-* headers).
_KEPT_HEADERS = ("Location", "Content-Type")
MAX_STORED_CONTENT = 256 * 1024
_UNSIGNED = {"csrfmiddlewaretoken", FIELD}


def new_key() -> str:
    return uuid.uuid4().hex


def submission_key(request: HttpRequest) -> str | None:
    """The key of a signed-in person's POST, or None (not a POST, nobody signed in, no key, or a
    key that is not one: then the request is served without idempotency, as before)."""
    if request.method != "POST":
        return None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    key = request.headers.get(HEADER) or request.POST.get(FIELD)
    return key if key and _KEY.match(key) else None


def fingerprint(request: HttpRequest) -> str:
    """A keyed digest (HMAC with the SECRET_KEY) of what was posted: the body may hold a password
    (a password change), which must not sit in the database as a plain, guessable hash."""
    digest = hmac.new(
        salted_hmac("web.idempotency.fingerprint", b"", algorithm="sha256").digest(),
        request.path.encode(),
        hashlib.sha256,
    )
    for name in sorted(set(request.POST) - _UNSIGNED):
        for value in request.POST.getlist(name):
            digest.update(b"\0" + name.encode() + b"=" + value.encode())
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            digest.update(b"\0file:" + name.encode() + f"={upload.name}:{upload.size}".encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def replay(submission: Submission) -> HttpResponse:
    """The answer ``submission`` got, again; marked so a client can tell."""
    response = HttpResponse(bytes(submission.content), status=submission.status)
    for name, value in submission.headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def _stored_headers(response: HttpResponse) -> dict[str, str]:
    return {name: value for name, value in response.items() if name in _KEPT_HEADERS or name.upper().startswith("HX-")}


def _no_view(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    raise AssertionError("a replay runs no view")


class IdempotencyMiddleware:
    """After authentication (it scopes keys to the person) and before the view."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = submission_key(request)
        if key is None:
            return self.get_response(request)
        digest = fingerprint(request)
        match = {"user_id": request.user.pk, "key": key, "fingerprint": digest}
        stored = Submission.objects.filter(**match).first()
        if stored is not None:
            # A replay runs no view, so Django's CSRF check (a view hook) would never see it: the
            # same check first, so a request forged from another site is refused, not answered.
            refused = CsrfViewMiddleware(self.get_response).process_view(request, _no_view, (), {})
            if refused is not None:
                return refused
            logger.info("%s %s resubmitted (key %s): answered as before", request.method, request.path, key)
            return replay(stored)
        try:
            with transaction.atomic():
                # First: a second identical POST blocks here until this transaction ends.
                submission = Submission.objects.create(**match, path=request.path[:2000], status=0)
                response = self.get_response(request)
                self._record(submission, response)
        except IntegrityError:
            stored = Submission.objects.filter(**match).first()
            if stored is None:  # not ours: the view's own integrity error, or the first rolled back
                raise
            logger.info("%s %s sent twice at once (key %s): answered as the first", request.method, request.path, key)
            return replay(stored)
        return response

    @staticmethod
    def _record(submission: Submission, response: HttpResponse) -> None:
        if response.status_code >= 500:
            # The view failed: nothing it wrote stands, and nothing is remembered.
            transaction.set_rollback(True)
            return
        if response.status_code >= 400 or response.streaming or response.cookies:
            submission.delete()  # refused (nothing done), or an answer not worth replaying
            return
        submission.status = response.status_code
        submission.headers = _stored_headers(response)
        if len(response.content) <= MAX_STORED_CONTENT:
            submission.content = response.content
        else:  # too big to keep: send the person to look at the page again
            submission.status, submission.headers = 303, {"Location": submission.path}
        submission.save(update_fields=["status", "headers", "content"])


def submissions_forget(*, now: datetime.datetime | None = None) -> int:
    """Delete the submissions older than ``SUBMISSION_RETENTION_HOURS``; how many went."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(hours=settings.SUBMISSION_RETENTION_HOURS)
    deleted, _ = Submission.objects.filter(created_at__lt=cutoff).delete()
    return deleted
