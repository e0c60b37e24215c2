"""In-app notifications: the header's count, the list at /notifications/, marking read.

A notice is its recipient's alone: every lookup is by (pk, recipient), so anyone else gets 404."""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals.selectors import policy_changes_awaiting, requests_awaiting, waivers_awaiting
from notifications.channels.slack import team_names
from notifications.events import describe
from notifications.models import Notification, OutboxMessage
from notifications.preferences import preference_of
from notifications.selectors import notices_of, unread_notices
from notifications.services import (
    notification_mark_read,
    notification_preferences_set,
    notifications_mark_all_read,
    outbox_retry,
)
from readiness.access import get_launch_for

from .forms import NotificationSettingsForm, add_service_errors

PAGE_SIZE = 50


def header_counts(request: HttpRequest) -> dict:
    """Context processor: how many sign-offs, waivers and requests to lower a bar wait for the
    signed-in user's decision, and how many of their notifications are unread (the header's two
    badges). Lazy: counted in one query when a template first shows either, so responses that show
    no header (the admin's pages, htmx fragments) pay nothing for it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    counts = functools.cache(lambda: _header_counts(user))
    return {
        "awaiting_count": SimpleLazyObject(lambda: counts()[0]),
        "unread_notifications": SimpleLazyObject(lambda: counts()[1]),
    }


def _header_counts(user) -> tuple[int, int]:
    requests = requests_awaiting(user).order_by().values("pk")
    waivers = waivers_awaiting(user).order_by().values("pk")
    changes = policy_changes_awaiting(user).order_by().values("pk")
    awaiting_sql, awaiting_params = requests.union(waivers, changes, all=True).query.sql_with_params()
    unread = unread_notices(user).order_by().values("pk")
    unread_sql, unread_params = unread.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM ({awaiting_sql}) awaiting), (SELECT COUNT(*) FROM ({unread_sql}) unread)",
            (*awaiting_params, *unread_params),
        )
        return cursor.fetchone()


def _rows(notifications) -> list[dict]:
    rows = []
    for notification in notifications:
        _subject, lines = describe(notification.event, notification.payload)
        # The launch as the notice named it: no query per row, and a reader who has since lost
        # sight of the launch learns nothing new (a later name) from an old notice.
        rows.append({"notification": notification, "lines": lines, "launch": notification.payload.get("launch", "")})
    return rows


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(notices_of(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/notifications.html", {"page": page, "rows": _rows(page.object_list)})


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        notification = notification_mark_read(actor=request.user, notification_id=pk)
    except Notification.DoesNotExist:
        raise Http404 from None
    if request.htmx:
        return render(request, "web/_notification.html", {"row": _rows([notification])[0]})
    return redirect("web:notifications")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    notifications_mark_all_read(actor=request.user)
    return redirect("web:notifications")


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    """One's own channels, at once or a daily digest, quiet hours and time zone."""
    preference = preference_of(request.user)
    initial = {
        "email": preference.email,
        "slack": preference.slack,
        "mode": preference.mode,
        "quiet_from": preference.quiet_from,
        "quiet_until": preference.quiet_until,
        "time_zone": preference.time_zone,
    }
    form = NotificationSettingsForm(request.POST or None, initial=initial, site_zone=settings.TIME_ZONE)
    if request.method == "POST" and form.is_valid():
        try:
            notification_preferences_set(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Your notification settings are saved."))
            return redirect("web:notification-settings")
    slack_teams = team_names([request.user]).get(request.user.pk, [])
    return render(request, "web/notification_settings.html", {"form": form, "slack_teams": slack_teams})


@login_required
@require_POST
def retry_delivery(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """ "Retry now" on the launch page's undelivered notifications: for who may change the launch
    (an outsider gets 404, a viewer 403); a message of another launch is 404."""
    launch = get_launch_for(request.user, slug)
    try:
        outbox_retry(actor=request.user, launch=launch, message_id=pk)
    except OutboxMessage.DoesNotExist:
        raise Http404 from None
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("The notification is queued to be sent again now."))
    return redirect(reverse("web:launch", args=[launch.slug]) + "#undelivered")
