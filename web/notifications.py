"""In-app notifications: the header's count, the list at /notifications/, marking read.

A notice is its recipient's alone: every lookup is by (pk, recipient), so anyone else gets 404."""

from __future__ import annotations

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
from notifications.choices import Relevance
from notifications.events import describe
from notifications.models import Notification, OutboxMessage
from notifications.preferences import preference_of
from notifications.selectors import (
    ALL,
    FILTERS,
    MINE,
    WAITING,
    filter_counts,
    notices_of,
    notices_shown,
    unread_groups,
)
from notifications.services import (
    notification_group_mark_read,
    notification_mark_read,
    notification_preferences_set,
    notifications_mark_all_read,
    outbox_retry,
)
from readiness.access import get_launch_for

from .forms import NotificationSettingsForm, add_service_errors
from .page_cache import remembered

PAGE_SIZE = 50
# A group lists this many items; the rest open on demand.
GROUP_SHOWN = 3


def header_counts(request: HttpRequest) -> dict:
    """Context processor: how many sign-offs, waivers and requests to lower a bar wait for the
    signed-in user's decision, and how many of their notifications are unread (the header's two
    badges). Lazy: counted in one query when a template first shows either, so responses that show
    no header (the admin's pages, htmx fragments) pay nothing for it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "awaiting_count": SimpleLazyObject(lambda: counts_for_header(request)[0]),
        "unread_notifications": SimpleLazyObject(lambda: counts_for_header(request)[1]),
    }


def counts_for_header(request: HttpRequest) -> tuple[int, int]:
    """The header's two counts for the signed-in user: once per request, and kept like the pages
    (``web.page_cache.remembered``) when the page cache is on."""
    counts = getattr(request, "_preflight_header_counts", None)
    if counts is None:
        counts = request._preflight_header_counts = remembered(
            request, "header-counts", lambda: tuple(_header_counts(request.user))
        )
    return counts


def _header_counts(user) -> tuple[int, int]:
    requests = requests_awaiting(user).order_by().values("pk")
    waivers = waivers_awaiting(user).order_by().values("pk")
    changes = policy_changes_awaiting(user).order_by().values("pk")
    awaiting_sql, awaiting_params = requests.union(waivers, changes, all=True).query.sql_with_params()
    unread = unread_groups(user)
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


def _is_new(notification) -> bool:
    return notification.read_at is None and not notification.quiet


def _still_waiting(notification) -> bool:
    """It asked something of the reader, and they have not marked it read (nor answered it)."""
    return notification.relevance == Relevance.WAITING and notification.read_at is None


def _groups(notifications) -> list[dict]:
    """The notices of a page as groups: those one change wrote about one launch, listed together
    (newest first), new when any of them is new (told, not yet read)."""
    groups: list[dict] = []
    by_key: dict[str, dict] = {}
    for row in _rows(notifications):
        notification = row["notification"]
        key = notification.group_key or f"n{notification.pk}"
        group = by_key.get(key)
        if group is None:
            group = by_key[key] = {"key": key, "first": notification, "launch": row["launch"], "rows": []}
            groups.append(group)
        group["rows"].append(row)
    for group in groups:
        # What still waits for the reader first, then what is new, then newest first; a long group
        # shows its first few.
        group["rows"].sort(key=lambda r: (not _still_waiting(r["notification"]), not _is_new(r["notification"])))
        group["shown"], group["more"] = group["rows"][:GROUP_SHOWN], group["rows"][GROUP_SHOWN:]
        group["new"] = any(_is_new(r["notification"]) for r in group["rows"])
        group["unread"] = any(not r["notification"].read_at for r in group["rows"])
        group["waiting"] = any(_still_waiting(r["notification"]) for r in group["rows"])
        group["quiet"] = all(r["notification"].quiet for r in group["rows"])
    return groups


def _shown(request: HttpRequest) -> str:
    shown = request.GET.get("show") or request.POST.get("show") or ALL
    return shown if shown in FILTERS else ALL


def _filter_links(user, shown: str) -> list[dict]:
    counts = filter_counts(user)
    names = {WAITING: _("Waiting for me"), MINE: _("My launches"), ALL: _("Everything")}
    return [
        {"value": value, "label": names[value], "count": counts[value], "current": value == shown} for value in FILTERS
    ]


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """One's notices, newest first, grouped by change and launch, filtered: what waits for me, my
    launches' news, everything."""
    shown = _shown(request)
    page = Paginator(notices_shown(request.user, shown), PAGE_SIZE).get_page(request.GET.get("page"))
    filters = _filter_links(request.user, shown)
    return render(
        request,
        "web/notifications.html",
        {
            "page": page,
            "groups": _groups(page.object_list),
            "shown": shown,
            "filters": filters,
            "shown_new": next(link["count"] for link in filters if link["current"]),
        },
    )


def _back(request: HttpRequest) -> HttpResponse:
    shown = _shown(request)
    url = reverse("web:notifications")
    return redirect(url if shown == ALL else f"{url}?show={shown}")


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        notification = notification_mark_read(actor=request.user, notification_id=pk)
    except Notification.DoesNotExist:
        raise Http404 from None
    if request.htmx:
        notices = notices_of(request.user).filter(group_key=notification.group_key) if notification.group_key else []
        (group,) = _groups(notices or [notification])
        return render(request, "web/_notification.html", {"group": group, "shown": _shown(request)})
    return _back(request)


@login_required
@require_POST
def notification_group_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark read the group of one's notice ``pk`` (one change about one launch); someone else's
    notice is 404. With htmx, the group is redrawn in place."""
    try:
        notices = notification_group_mark_read(actor=request.user, notification_id=pk)
    except Notification.DoesNotExist:
        raise Http404 from None
    if request.htmx:
        (group,) = _groups(notices)
        return render(request, "web/_notification.html", {"group": group, "shown": _shown(request)})
    return _back(request)


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    """Mark read everything the current filter shows (``show``: everything when not given)."""
    notifications_mark_all_read(actor=request.user, shown=_shown(request))
    return _back(request)


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    """One's own channels, at once or a daily digest, quiet hours and time zone, and how to hear of
    other people's launches."""
    preference = preference_of(request.user)
    initial = {
        "email": preference.email,
        "slack": preference.slack,
        "mode": preference.mode,
        "quiet_from": preference.quiet_from,
        "quiet_until": preference.quiet_until,
        "time_zone": preference.time_zone,
        "others": preference.others,
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
