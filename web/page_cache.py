"""A signed-in person's heavy pages (the portfolio, a launch page, My sign-offs), kept for a few
seconds and served again while nothing they show can have changed (issue 21, point 7); the header's two
counts, which every page shows, are kept the same way.

Under load these pages are read far more often than anything changes, and each costs tens of
queries and a checklist evaluation, against the sign-in page's none. A page is kept for
``PAGE_CACHE_SECONDS`` (0: never; the default with DEBUG on) under a key made of:

- whose page it is: the person, their language and whether htmx asked for a fragment (a kept
  page's CSRF tokens are replaced with the current request's, so any session of theirs may use it);
- what it is: the view and the full path with its query;
- what the person may see: their launch grants and team memberships (a role taken away, or a
  team left, changes them even where no ledger entry is written, so a page is never served to
  someone who lost access to what it shows);
- what it shows: the ledger's sequence (every state change appends to the ledger, in its
  transaction, so a committed change gives every page a new key at once), when the stored
  evaluations were last refreshed (they are refreshed after the commit, by a task), and the
  person's newest notice with how many and when last they read theirs (the header's badges);
and it is kept ``PAGE_CACHE_SECONDS`` at most, so what changes with time alone (an approval
expiring, evidence ageing, a delivery failing) shows within that time.

A request with a message to show ("saved") is neither served from nor kept in the cache; only 200
answers are kept. The cache is the ``pages`` cache: the memory of each server process by default
(a miss costs one ordinary render), or Redis shared by every process and server when
``PAGE_CACHE_URL`` names one."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import translation

from ledger.models import LedgerHead
from notifications.models import Notification
from raci.choices import TeamFunction
from raci.models import Stakeholder, Team
from readiness.models import LaunchEvaluation, LaunchUserObjectPermission

from .idempotency import new_key

CACHE_ALIAS = "pages"

logger = logging.getLogger(__name__)


def versions(request: HttpRequest) -> tuple:
    """What a signed-in person's pages depend on, in one query (asked once per request): the
    ledger's sequence, the newest stored evaluation's time, the newest of their notices with how
    many and when last they read them, and what they may see: how many launch grants and team
    memberships they hold and the sum of their ids (a grant or membership taken away and another
    given changes the sum: ids only grow)."""
    cached = getattr(request, "_preflight_versions", None)
    if cached is None:
        notices = Notification._meta.db_table
        grants = LaunchUserObjectPermission._meta.db_table
        memberships = Stakeholder.teams.through._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT (SELECT sequence FROM {LedgerHead._meta.db_table} WHERE id = 1), "  # noqa: S608
                f"(SELECT MAX(evaluated_at) FROM {LaunchEvaluation._meta.db_table}), "
                f"(SELECT MAX(id) FROM {notices} WHERE recipient_id = %s), "
                f"(SELECT MAX(read_at) FROM {notices} WHERE recipient_id = %s), "
                f"(SELECT COUNT(read_at) FROM {notices} WHERE recipient_id = %s), "
                f"(SELECT COUNT(*) || ':' || COALESCE(SUM(id), 0) FROM {grants} WHERE user_id = %s), "
                f"(SELECT COUNT(*) || ':' || COALESCE(SUM(m.id), 0) FROM {memberships} m "
                f"JOIN {Stakeholder._meta.db_table} s ON s.id = m.stakeholder_id WHERE s.user_id = %s), "
                # Executives see every launch: a team of theirs becoming (or ceasing to be) one counts.
                f"(SELECT COUNT(*) FROM {memberships} m "
                f"JOIN {Stakeholder._meta.db_table} s ON s.id = m.stakeholder_id "
                f"JOIN {Team._meta.db_table} t ON t.id = m.team_id WHERE s.user_id = %s AND t.function = %s), "
                f"(SELECT is_superuser FROM {get_user_model()._meta.db_table} WHERE id = %s)",
                [request.user.pk] * 6 + [TeamFunction.EXECUTIVE, request.user.pk],
            )
            cached = request._preflight_versions = tuple(str(value) for value in cursor.fetchone())
    return cached


def remembered(request: HttpRequest, name: str, compute: Callable):
    """``compute()`` for the signed-in person, kept like their pages (the header's counts): the
    same while ``versions`` and the period hold; computed afresh when the cache is off."""
    seconds = settings.PAGE_CACHE_SECONDS
    if not seconds:
        return compute()
    parts = (name, request.user.pk, *versions(request))
    key = f"{name}:" + hashlib.sha256(repr(parts).encode()).hexdigest()
    value = _cache_get(key)
    if value is None:
        value = compute()
        _cache_set(key, value, seconds)
    return value


def _has_messages(request: HttpRequest) -> bool:
    storage = getattr(request, "_messages", None)
    return storage is not None and len(storage) > 0  # counts without marking them shown


def page_key(request: HttpRequest, view_name: str, seconds: int) -> str | None:
    """The cache key of this request's page, or None when it must not be cached."""
    if not request.user.is_authenticated or _has_messages(request):
        return None
    parts = (
        view_name,
        request.get_full_path(),
        request.user.pk,
        translation.get_language(),
        bool(getattr(request, "htmx", False)),
        *versions(request),
    )
    return "page:" + hashlib.sha256(repr(parts).encode()).hexdigest()


# Where a page carries its CSRF token: the forms' hidden input and htmx's header (web/base.html).
CSRF_TOKEN = re.compile(rb'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[A-Za-z0-9]{64}(")')


# Each form's one-time submission key (web.idempotency), which must never be handed out twice.
SUBMISSION_KEY = re.compile(rb'(name="submission" value=")[A-Za-z0-9_.:-]{8,100}(")')


def _with_this_request_s_token(request: HttpRequest, content: bytes) -> bytes:
    """A kept page with the CSRF token of the request it answers (the person's other sessions
    hold another CSRF secret) and fresh submission keys: a key served twice would make the second
    form's action a replay of the first's (a sign-out, say, that signs nobody out)."""
    token = get_token(request).encode()
    content = CSRF_TOKEN.sub(lambda match: match.group(1) + token + match.group(2), content)
    return SUBMISSION_KEY.sub(lambda match: match.group(1) + new_key().encode() + match.group(2), content)


def _cache_get(key: str):
    """The kept value, or None when the cache cannot answer (Redis down): a page is then rendered
    as if nothing were kept; the cache is an optimisation, never a way for a page to fail."""
    try:
        return caches[CACHE_ALIAS].get(key)
    except Exception:
        logger.warning("The page cache could not be read; rendering afresh", exc_info=True)
        return None


def _cache_set(key: str, value, seconds: int) -> None:
    try:
        caches[CACHE_ALIAS].set(key, value, seconds)
    except Exception:
        logger.warning("The page cache could not keep a page", exc_info=True)


def cached_page(view: Callable) -> Callable:
    """Serve the view's page from the ``pages`` cache while its key holds (see the module)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        seconds = settings.PAGE_CACHE_SECONDS
        if not seconds or request.method != "GET":
            return view(request, *args, **kwargs)
        key = page_key(request, f"{view.__module__}.{view.__name__}", seconds)
        if key is None:
            return view(request, *args, **kwargs)
        kept = _cache_get(key)
        if kept is not None:
            content, content_type = kept
            return HttpResponse(_with_this_request_s_token(request, content), content_type=content_type)
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming and not response.cookies:
            _cache_set(key, (response.content, response["Content-Type"]), seconds)
        return response

    return wrapper
