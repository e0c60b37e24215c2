"""In-app notifications: the header's count, the list at /notifications/, marking read.

A notice is its recipient's alone: every lookup is by (pk, recipient), so anyone else gets 404."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from approvals.models import Notification
from approvals.notifications import describe, notification_mark_read, notifications_mark_all_read
from approvals.selectors import policy_changes_awaiting, requests_awaiting, waivers_awaiting

PAGE_SIZE = 50


def header_counts(request: HttpRequest) -> dict:
    """Context processor: how many sign-offs, waivers and requests to lower a bar wait for the
    signed-in user's decision, and how many of their notifications are unread (the header's two
    badges), in one query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    requests = requests_awaiting(user).order_by().values("pk")
    waivers = waivers_awaiting(user).order_by().values("pk")
    changes = policy_changes_awaiting(user).order_by().values("pk")
    awaiting_sql, awaiting_params = requests.union(waivers, changes, all=True).query.sql_with_params()
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True).order_by().values("pk")
    unread_sql, unread_params = unread.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM ({awaiting_sql}) awaiting), (SELECT COUNT(*) FROM ({unread_sql}) unread)",
            (*awaiting_params, *unread_params),
        )
        awaiting_count, unread_count = cursor.fetchone()
    return {"awaiting_count": awaiting_count, "unread_notifications": unread_count}


def _rows(notifications) -> list[dict]:
    rows = []
    for notification in notifications:
        _subject, lines = describe(notification.event, notification.payload)
        rows.append({"notification": notification, "lines": lines})
    return rows


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(
        Notification.objects.filter(recipient=request.user).order_by("-created_at", "-pk"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
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
